"""The offline provider itself: its models and settings, text calls and image jobs."""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from decimal import Decimal
from typing import Any, Iterator

from app.toolkit import (
    Clock,
    Completion,
    CompletionChunk,
    CompletionRequest,
    MediaPoll,
    MediaRequest,
    MediaSubmission,
    ModelInfo,
    Provider,
    ProviderRequestError,
    Setting,
    SystemClock,
    parse_int,
)

from .image import image_size, render_image
from .job_id import decode_job, encode_job
from .prose import Prose
from .schema_values import SchemaWriter
from .topics import read_topics

TOKENS_PER_WORD = 1.3


def _parse_seconds(raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of seconds, got {raw!r}") from None
    if value < 0 or math.isnan(value):
        raise ValueError(f"expected zero or more seconds, got {raw!r}")
    return value


class OfflineProvider(Provider):
    """Synthetic text, JSON and images: deterministic, instant and free."""

    name = "offline"
    kinds = ("text", "image")
    requires_key = False
    offline = True
    models = (
        ModelInfo("offline:writer", 32_768, Decimal("0"), Decimal("0"),
                  description="Offline prose of a few paragraphs, shaped by the prompt; no network."),
        ModelInfo("offline:fast", 8_192, Decimal("0"), Decimal("0"),
                  description="Offline, shorter answers; no network."),
        ModelInfo("offline:image", kind="image", price_per_item=Decimal("0"),
                  description="Offline PNG images drawn from the prompt; no network."),
    )
    settings = (
        Setting("OFFLINE_SEED", 0, "seed of the offline provider's output when a call names none "
                "(change it to get different offline text)", parse=parse_int),
        Setting("OFFLINE_MEDIA_DELAY", 1.0, "seconds an offline image generation stays processing before "
                "it completes, as a real backend's would", parse=_parse_seconds),
        Setting("OFFLINE_STREAM_DELAY", 0.0, "seconds between the pieces of a streamed offline answer, to "
                "watch text being written as a real model's would be (0: all at once)", parse=_parse_seconds),
    )

    def __init__(self, config: Any = None, credentials: Any = None, *, clock: Clock | None = None) -> None:
        super().__init__(config, credentials)
        # Image jobs stay "processing" for the media delay; a test hands in a ManualClock to
        # pass that delay without sleeping.
        self.clock = clock or SystemClock()

    # -- text ---------------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        """Write an answer shaped by the last user message, or JSON fitting ``json_schema``.

        :raises ProviderRequestError: when the model asked for makes images, not text.
        """
        if request.model == "image":
            raise ProviderRequestError("offline:image makes images; ask offline:writer for text.",
                                       {"provider": self.name, "model": request.model})
        seed = self._seed(request.seed)
        rng = random.Random(_digest(request.model, [dict(m) for m in request.messages], request.temperature, seed))
        prompt = _last_user_message(request.messages)
        topics = read_topics(prompt)
        if request.json_schema is not None:
            value = SchemaWriter(rng, Prose(rng, topics), request.json_schema).value(request.json_schema)
            text, finish_reason = json.dumps(value, ensure_ascii=False, indent=2), "stop"
        else:
            text, finish_reason = Prose(rng, topics).answer(prompt, request.model, request.max_tokens)
            text, finish_reason = _apply_stop(text, request.stop, finish_reason)
        input_words = sum(len(str(m.get("content", "")).split()) for m in request.messages)
        return Completion(text=text, input_tokens=max(1, round(input_words * TOKENS_PER_WORD)),
                          output_tokens=count_tokens(text), model=request.model, finish_reason=finish_reason,
                          raw={"offline": True, "seed": seed})

    def stream(self, request: CompletionRequest) -> Iterator[CompletionChunk]:
        """Yield the same answer as :meth:`complete`, a few words at a time."""
        completion = self.complete(request)
        pieces = re.findall(r"\s*\S+", completion.text)
        delay = float(self.config.get("stream_delay") or 0)
        for start in range(0, len(pieces), 4):
            if delay and start:
                time.sleep(delay)  # a writer's pace, asked for by OFFLINE_STREAM_DELAY
            yield CompletionChunk(text="".join(pieces[start:start + 4]))
        yield CompletionChunk(text="", done=True, input_tokens=completion.input_tokens,
                              output_tokens=completion.output_tokens, finish_reason=completion.finish_reason,
                              model=completion.model)

    # -- images -------------------------------------------------------------------------

    def submit(self, request: MediaRequest) -> MediaSubmission:
        """Accept an image generation. The job id carries all it needs: no state is kept.

        Params: ``prompt``, ``width`` and ``height`` (or ``size`` as ``WxH``; default 512,
        at most 2048), ``seed``, and ``fail: true`` to get a failed generation for testing.

        :raises ProviderRequestError: for a media type other than image, or a bad size.
        """
        if request.media_type != "image":
            raise ProviderRequestError(f"The offline provider makes images, not {request.media_type}.",
                                       {"provider": self.name, "media_type": request.media_type})
        params = dict(request.params or {})
        width, height = image_size(params)
        seed = self._seed(params.get("seed"))
        delay = self._media_delay()
        payload = {"m": request.model, "w": width, "h": height, "f": bool(params.get("fail")),
                   "s": int.from_bytes(_digest(request.model, params, seed)[:8], "big"),
                   "t": math.floor(self.clock.now().timestamp() * 1000) / 1000, "d": delay, "p": str(params.get("prompt") or "")[:300]}
        # The seed covers the whole prompt, so the job id may shorten the caption to fit.
        job_id = encode_job(payload)
        return MediaSubmission(job_id=job_id, poll_interval=max(0.1, min(1.0, delay / 2)),
                               raw={"offline": True, "width": width, "height": height})

    def poll(self, job_id: str) -> MediaPoll:
        """Say ``processing`` until the media delay has passed, then give the PNG (or the failure).

        :raises ProviderRequestError: when ``job_id`` is not one this provider issued.
        """
        job = decode_job(job_id)
        if self.clock.now().timestamp() < job["t"] + job["d"]:
            return MediaPoll(status="processing")
        if job["f"]:
            return MediaPoll(status="failed", error="The offline image generation failed, as its params "
                                                    "asked (fail: true).")
        content = render_image(job["p"], job["w"], job["h"], job["s"])
        return MediaPoll(status="completed", content=content, content_type="image/png", cost_usd=Decimal("0"))

    # -- configuration ------------------------------------------------------------------

    def _seed(self, asked: Any) -> int:
        if asked is not None:
            try:
                return int(asked)
            except (TypeError, ValueError):
                raise ProviderRequestError(f"A seed must be a whole number, not {asked!r}.") from None
        return int(self.config.get("seed") or 0)

    def _media_delay(self) -> float:
        value = self.config.get("media_delay")
        return 1.0 if value is None else _parse_seconds(value)


def count_tokens(text: str) -> int:
    """The offline provider's token count: about 1.3 tokens a word."""
    words = len(text.split())
    return max(1, round(words * TOKENS_PER_WORD)) if words else 0


def _digest(*parts: Any) -> bytes:
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def _last_user_message(messages: tuple[dict[str, str], ...]) -> str:
    for message in reversed(messages):
        if message.get("role", "user") == "user":
            return str(message.get("content", ""))
    return str(messages[-1].get("content", "")) if messages else ""


def _apply_stop(text: str, stop: tuple[str, ...], finish_reason: str) -> tuple[str, str]:
    cuts = [text.find(s) for s in stop if s and s in text]
    return (text[:min(cuts)].rstrip(), "stop") if cuts else (text, finish_reason)
