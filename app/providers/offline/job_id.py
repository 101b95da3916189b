"""The offline generation job id, which carries the whole job: no state is kept between calls."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from app.toolkit import ProviderRequestError

JOB_ID_PREFIX = "offline-"
JOB_ID_MAX = 255  # the generation job's provider_job_id column


def encode_job(payload: dict[str, Any]) -> str:
    """A job id carrying ``payload``, its caption ``p`` shortened until the id fits ``JOB_ID_MAX``."""
    payload = dict(payload)
    job_id = _pack(payload)
    while len(job_id) > JOB_ID_MAX and payload["p"]:
        # The payload's seed already covers the whole prompt; only the caption gets shorter.
        payload["p"] = payload["p"][:len(payload["p"]) * 3 // 4]
        job_id = _pack(payload)
    return job_id


def decode_job(job_id: str) -> dict[str, Any]:
    """The payload ``job_id`` carries.

    :raises ProviderRequestError: when ``job_id`` is not one :func:`encode_job` made.
    """
    unknown = ProviderRequestError("That is not a generation job of the offline provider.", {"job_id": job_id[:80]})
    if not isinstance(job_id, str) or not job_id.startswith(JOB_ID_PREFIX):
        raise unknown
    encoded = job_id[len(JOB_ID_PREFIX):]
    try:
        job = json.loads(zlib.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))))
        for field, kind in (("w", int), ("h", int), ("s", int), ("t", (int, float)), ("d", (int, float)),
                            ("p", str), ("f", bool)):
            if not isinstance(job[field], kind):
                raise TypeError(field)
    except (binascii.Error, zlib.error, ValueError, KeyError, TypeError):
        raise unknown from None
    return job


def _pack(payload: dict[str, Any]) -> str:
    packed = zlib.compress(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8"), 9)
    return JOB_ID_PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
