"""One HTTP attempt of a webhook delivery: to the address the guard checked, bounded in every way.

urllib3 (requests' own transport) is given the checked IP address to connect to and the
URL's host only as the ``Host`` header and, for https, as the name the certificate must be
for (SNI and hostname check). So the name is resolved once, by the guard, and never again
between the check and the connection (no DNS rebinding).

A receiver cannot hold a worker: the connection must open within the connect timeout and
each wait for bytes ends at the read timeout, which also bounds the whole answer once its
headers came. At most :data:`MAX_RESPONSE_BYTES` of the body are read (compression is
refused, so a small body cannot inflate) and :data:`RESPONSE_BODY_KEPT` characters kept.
Redirects are not followed: a 3xx is a failed attempt, since following one would post
the event somewhere the guard never saw.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from .address_guard import Target

#: What is kept of a receiver's answer (seed 003's ``response_body``, truncated).
RESPONSE_BODY_KEPT = 2048
#: What is read of it at most; the rest is never fetched.
MAX_RESPONSE_BYTES = 8192
USER_AGENT = "Inkwright-Webhooks/1"


@dataclass(frozen=True)
class AttemptOutcome:
    """What one POST got: a status and the start of the body, or the reason it got nothing."""

    status_code: int | None
    body: str | None
    elapsed_ms: int
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def _pool(target: Target, address: str, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    options = {"port": target.port, "timeout": timeout, "retries": False, "maxsize": 1, "block": False}
    if target.scheme == "https":
        context = ssl.create_default_context()
        return urllib3.HTTPSConnectionPool(address, ssl_context=context, server_hostname=target.host,
                                           assert_hostname=target.host, **options)
    return urllib3.HTTPConnectionPool(address, **options)


def _read_bounded(response: urllib3.BaseHTTPResponse, deadline: float) -> tuple[bytes, str | None]:
    """At most MAX_RESPONSE_BYTES of the body, and nothing after ``deadline``.

    :returns: what was read, and why reading stopped early if it broke (running into the
        deadline is no error: the status already says how the delivery went).
    """
    chunks, size = [], 0
    while size < MAX_RESPONSE_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(remaining)  # each wait for bytes ends at the deadline, not later
        try:
            chunk = response.read1(MAX_RESPONSE_BYTES - size)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            break
        except (Urllib3Error, OSError, ssl.SSLError) as exc:
            return b"".join(chunks), f"the answer could not be read: {_reason(exc)}"
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), None


def post_delivery(target: Target, addresses: list[str], body: bytes, headers: dict[str, str], *,
                  connect_timeout: float, read_timeout: float) -> AttemptOutcome:
    """POST ``body`` to ``target`` through the first of ``addresses`` that accepts a connection.

    :param addresses: what the guard resolved and checked, in order.
    :returns: the outcome; never raises for anything the network or the receiver does.
    """
    started = time.monotonic()
    sent_headers = {"Host": target.host_header, "User-Agent": USER_AGENT, "Content-Type": "application/json",
                    "Accept-Encoding": "identity", "Connection": "close", **headers}
    timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    error = "no address to connect to"
    for address in addresses:
        pool = _pool(target, address, timeout)
        try:
            response = pool.urlopen("POST", target.path, body=body, headers=sent_headers, redirect=False,
                                    retries=False, preload_content=False, decode_content=False,
                                    assert_same_host=False)
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as exc:
            error = f"could not connect to {target.host} ({address}): {_reason(exc)}"
            pool.close()
            continue  # the next address of a dual-stack name may answer
        except (Urllib3Error, OSError, ssl.SSLError) as exc:
            pool.close()
            return AttemptOutcome(None, None, _ms(started), f"the request failed: {_reason(exc)}")
        try:
            raw, read_error = _read_bounded(response, time.monotonic() + read_timeout)
        finally:
            response.release_conn()
            response.close()
            pool.close()
        text = raw.decode("utf-8", "replace")[:RESPONSE_BODY_KEPT]
        status = response.status
        if read_error is not None and not (200 <= status < 300):
            return AttemptOutcome(status, text, _ms(started), read_error)
        if 300 <= status < 400:
            where = response.headers.get("Location", "")[:200]
            return AttemptOutcome(status, text, _ms(started), f"redirect to {where or 'elsewhere'} not followed")
        if not 200 <= status < 300:
            return AttemptOutcome(status, text, _ms(started), f"the receiver answered {status}")
        return AttemptOutcome(status, text, _ms(started))
    return AttemptOutcome(None, None, _ms(started), error)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]
