"""The HTTP transport the HTTP providers share: JSON POSTs and server-sent events.

It retries what waiting can fix (429, 408, 5xx, a refused or dropped connection) with
exponential backoff and jitter, honouring ``Retry-After``, and maps every failure to the
toolkit's ``Provider*Error`` family. The API key never reaches a log line or an exception:
error text taken from a provider's body is redacted first.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, ClassVar, Iterable, Iterator, Mapping

import requests
import urllib3.exceptions

from app.toolkit import (
    ExternalServiceError,
    Provider,
    ProviderAuthError,
    ProviderCredentials,
    ProviderRateLimitedError,
    ProviderRequestError,
    ProviderResponseError,
    ProviderTimeoutError,
    UsageSource,
    note_failed_try,
)

log = logging.getLogger(__name__)

#: Anything that looks like a credential in a provider's error text (OpenAI echoes a
#: partly masked key on a 401, and a BYOK key must not leak through it).
_KEY_LIKE = re.compile(r"\b(?:sk|pk|rk|sess)-[A-Za-z0-9_\-*.]{6,}")
#: Words of a 5xx body that is a validation of the request, not a passing failure (pydantic's,
#: as FastAPI-based servers such as llama-cpp-python's send them).
_DETERMINISTIC = re.compile(r"validation error|Input should be|Field required|Extra inputs are not permitted|"
                            r"response_format", re.IGNORECASE)
_MAX_ERROR_TEXT = 500


class HttpTransport:
    """Send JSON to one provider's HTTP API, retrying what is worth retrying.

    :param provider: the provider's name, used in messages.
    :param timeout: seconds to connect, and to wait for each read.
    :param max_retries: retries after the first attempt (so ``max_retries + 1`` attempts).
    :param max_backoff: the longest wait between two attempts, ``Retry-After`` included.
    :param backoff: the first wait when the server names none; it doubles each retry.
    :param call_seconds: the time one call may take, every try and wait included (``None``:
        no bound but the attempts'): a retry that would end past it is not started.
    :param secrets: strings to redact from any text that reaches an exception.
    :param sleep: how to wait; tests pass a recorder.
    :param monotonic: the clock the call's time is measured on; tests pass one ``sleep`` moves.

    The attempts and the time are the call's one retry budget (issue 12): every error this
    transport raises for a call is marked ``call_budget_spent``, so the step that made the
    call does not try it all again. Each try that failed and was retried is noted for the
    usage log (:func:`~app.toolkit.note_failed_try`).
    """

    def __init__(self, provider: str, *, timeout: float = 60.0, max_retries: int = 3, max_backoff: float = 30.0,
                 backoff: float = 0.5, call_seconds: float | None = None, secrets: Iterable[str | None] = (),
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.provider = provider
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.max_backoff = max(0.0, max_backoff)
        self.backoff = backoff
        self.call_seconds = call_seconds if call_seconds and call_seconds > 0 else None
        self.secrets = tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True))
        self.session = session or requests.Session()
        self.sleep = sleep
        self.monotonic = monotonic
        self._jitter = random.Random()

    @classmethod
    def from_config(cls, provider: str, config: Mapping[str, Any], *,
                    secrets: Iterable[str | None] = ()) -> HttpTransport:
        """Build a transport from a provider's ``config`` (``timeout``, ``max_retries``,
        ``max_backoff``, ``call_seconds``)."""
        return cls(provider, timeout=float(config.get("timeout") or 60.0),
                   max_retries=int(config.get("max_retries") if config.get("max_retries") is not None else 3),
                   max_backoff=float(config.get("max_backoff") if config.get("max_backoff") is not None else 30.0),
                   call_seconds=float(config["call_seconds"]) if config.get("call_seconds") else None,
                   secrets=secrets)

    def post_json(self, url: str, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """POST ``body`` as JSON and return the JSON object answered.

        :raises ProviderResponseError: when the answer is not a JSON object.
        :raises ExternalServiceError: (or a ``Provider*Error``) when the call fails.
        """
        return self._json_object(self._send(url, body, headers, stream=False))

    def _json_object(self, response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise ProviderResponseError(f"{self.provider} answered something that is not JSON.",
                                        {"provider": self.provider, "status": response.status_code}) from None
        except requests.RequestException as exc:
            raise self._transport_error(exc, 1) from None
        if not isinstance(data, dict):
            raise ProviderResponseError(f"{self.provider} answered JSON that is not an object.",
                                        {"provider": self.provider})
        return data

    def stream_events(self, url: str, body: dict[str, Any],
                      headers: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """POST ``body`` and yield the JSON object of each server-sent event, up to ``[DONE]``.

        Errors before the stream starts are handled (and retried) as in :meth:`post_json`.
        """
        response = self._send(url, body, headers, stream=True)
        if response.headers.get("Content-Type", "").startswith("application/json"):
            # A server that ignores "stream" answers the whole reply at once: one event.
            with response:
                yield self._json_object(response)
            return
        try:
            for data in _server_sent_data(self._lines(response)):
                if data.strip() == "[DONE]":
                    return
                try:
                    event = json.loads(data)
                except ValueError:
                    raise ProviderResponseError(f"{self.provider} streamed an event that is not JSON.",
                                                {"provider": self.provider}) from None
                if not isinstance(event, dict):
                    raise ProviderResponseError(f"{self.provider} streamed an event that is not a JSON object.",
                                                {"provider": self.provider})
                yield event
        finally:
            response.close()

    def redact(self, text: str) -> str:
        """``text`` without the secrets this transport knows, or anything shaped like a key."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _KEY_LIKE.sub("***", text)

    def error_text(self, payload: Any) -> str:
        """A provider's error message from a parsed body (``error.message``, ``message``...), redacted."""
        message: Any = None
        if isinstance(payload, dict):
            error = payload.get("error")
            if isinstance(error, dict):
                message = error.get("message") or error.get("type")
            elif isinstance(error, str):
                message = error
            message = message or payload.get("message") or payload.get("detail")
        elif isinstance(payload, str):
            message = payload
        if not message:
            return ""
        text = message if isinstance(message, str) else json.dumps(message)
        return self.redact(" ".join(text.split()))[:_MAX_ERROR_TEXT]

    # -- the attempt loop ---------------------------------------------------------------

    def _send(self, url: str, body: dict[str, Any], headers: Mapping[str, str] | None,
              stream: bool) -> requests.Response:
        attempts = self.max_retries + 1
        deadline = self.monotonic() + self.call_seconds if self.call_seconds is not None else None
        for attempt in range(attempts):
            last = attempt == attempts - 1
            started = time.perf_counter()
            try:
                response = self.session.post(url, json=body, headers=dict(headers or {}),
                                             timeout=self._try_timeout(deadline), stream=stream)
            except requests.RequestException as exc:
                error = self._transport_error(exc, attempt + 1)
                delay = self._delay(attempt, None)
                # Only a connection never made is worth another try: an answer that came too
                # late would come too late again, and a bad URL stays bad.
                if last or not _is_connect_failure(exc) or not self._in_time(deadline, delay):
                    raise _spent(error) from None
                note_failed_try(error, started)
                self._wait(attempt, delay, type(exc).__name__)
                continue
            if 200 <= response.status_code < 300:
                return response
            status = response.status_code
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if not _worth_retrying(status):
                raise _spent(self._refusal(response))
            if status >= 500 and _DETERMINISTIC.search(self._body_text(response)):
                # A server error that is the request's validation (llama-cpp-python answers an
                # unknown response_format with 500): the same request fails the same way again.
                raise _spent(self._refusal(response, deterministic=True))
            delay = self._delay(attempt, retry_after)
            if last or not self._in_time(deadline, delay):
                raise _spent(self._exhausted(response, attempt + 1, retry_after))
            note_failed_try(self._turned_away(response), started)
            self._wait(attempt, delay, f"HTTP {status}")
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _try_timeout(self, deadline: float | None) -> float:
        """A try waits no longer than the call has left (a second at least, to be a try at all)."""
        if deadline is None:
            return self.timeout
        return max(1.0, min(self.timeout, deadline - self.monotonic()))

    def _in_time(self, deadline: float | None, delay: float) -> bool:
        """Whether a retry after ``delay`` still starts, with a second to run, inside the call's time."""
        return deadline is None or self.monotonic() + delay + 1.0 <= deadline

    def _wait(self, attempt: int, delay: float, reason: str) -> None:
        log.info("%s: %s, retrying in %.2f s (attempt %d of %d)", self.provider, reason, delay,
                 attempt + 2, self.max_retries + 1)
        self.sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        exponential = self.backoff * (2 ** attempt)
        # Jitter spreads the retries of many workers hit by the same outage.
        return min(exponential * (1 + self._jitter.random() * 0.5), self.max_backoff)

    # -- errors -------------------------------------------------------------------------

    def _transport_error(self, exc: requests.RequestException, attempts: int) -> Exception:
        details = {"provider": self.provider, "attempts": attempts, "reason": type(exc).__name__}
        if _is_timeout(exc):
            return ProviderTimeoutError(
                f"{self.provider} did not answer within {self.timeout:g} seconds.", details)
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidSchema)):
            return ProviderRequestError(f"The base URL configured for {self.provider} is not a usable URL.", details)
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            return ExternalServiceError(f"The connection to {self.provider} dropped while it was answering.",
                                        {**details, "reason": "dropped_while_answering"})
        if isinstance(exc, requests.ConnectionError) and _dropped(exc):
            # The server took the request and hung up before answering (it was stopped, or
            # crashed on it): not the same as a server nobody could connect to.
            return ExternalServiceError(f"The connection to {self.provider} dropped before it answered "
                                        f"(after {attempts} attempts).", {**details, "reason": "dropped"})
        if isinstance(exc, requests.ConnectionError):
            return ExternalServiceError(f"Could not connect to {self.provider} (after {attempts} attempts).",
                                        {**details, "reason": "could_not_connect"})
        return ExternalServiceError(f"The call to {self.provider} failed: {type(exc).__name__}.", details)

    def _body_text(self, response: requests.Response) -> str:
        try:
            return self.error_text(response.json())
        except ValueError:
            pass
        if response.headers.get("Content-Type", "").startswith("text/plain"):
            return self.error_text(response.text)
        return ""

    def _refusal(self, response: requests.Response, deterministic: bool = False) -> Exception:
        status = response.status_code
        said = self._body_text(response)
        response.close()
        details = {"provider": self.provider, "status": status}
        if said:
            details["provider_message"] = said
        suffix = f": {said}" if said else "."
        if status in (401, 403):
            return ProviderAuthError(f"{self.provider} refused the API key (HTTP {status}){suffix}", details)
        if 400 <= status < 500 or deterministic:
            return ProviderRequestError(f"{self.provider} refused the request (HTTP {status}){suffix}", details)
        return ProviderResponseError(f"{self.provider} answered with HTTP {status}{suffix}", details)

    def _turned_away(self, response: requests.Response) -> Exception:
        """The error of one try the server turned away, that another try follows (for the log)."""
        status = response.status_code
        said = self._body_text(response)
        response.close()
        details = {"provider": self.provider, "status": status}
        suffix = f": {said}" if said else "."
        if status == 429:
            return ProviderRateLimitedError(f"{self.provider} rate limited the call (HTTP 429){suffix}", details)
        if status == 408:
            return ProviderTimeoutError(f"{self.provider} timed out the request (HTTP 408){suffix}", details)
        return ExternalServiceError(f"{self.provider} answered with HTTP {status}{suffix}", details)

    def _exhausted(self, response: requests.Response, attempts: int, retry_after: float | None) -> Exception:
        status = response.status_code
        said = self._body_text(response)
        response.close()
        details = {"provider": self.provider, "status": status, "attempts": attempts}
        suffix = f": {said}" if said else "."
        if status == 429:
            wait = retry_after if retry_after is not None else self._delay(attempts - 1, None)
            details["retry_after"] = wait
            return ProviderRateLimitedError(
                f"{self.provider} kept rate limiting the call through {attempts} attempts{suffix}", details,
                retry_after=wait)
        if status == 408:
            return ProviderTimeoutError(f"{self.provider} timed out the request {attempts} times{suffix}", details)
        return ExternalServiceError(
            f"{self.provider} failed with HTTP {status} through {attempts} attempts{suffix}", details)

    def _lines(self, response: requests.Response) -> Iterator[bytes]:
        try:
            # chunk_size=None hands over data as it arrives instead of waiting for 512 bytes.
            yield from response.iter_lines(chunk_size=None)
        except requests.RequestException as exc:
            raise self._transport_error(exc, 1) from None


def _spent(error: Exception) -> Exception:
    """``error`` marked as the end of its call's retry budget (its step does not retry it)."""
    error.call_budget_spent = True  # type: ignore[attr-defined]
    return error


class HttpProvider(Provider):
    """A provider that speaks HTTP: its key and address, and a transport built from its config.

    ``self.credentials`` wins over ``self.config`` (that is how a BYOK key arrives); a
    provider without a key sends no key header at all (a local server needs none).
    """

    default_base_url: ClassVar[str] = ""

    def __init__(self, config: Mapping[str, Any] | None = None,
                 credentials: ProviderCredentials | None = None) -> None:
        super().__init__(config, credentials)
        self.transport = HttpTransport.from_config(self.name, self.config, secrets=[self.api_key])

    @property
    def api_key(self) -> str | None:
        return self.credentials.api_key or self.config.get("api_key") or None

    @property
    def base_url(self) -> str:
        return (self.credentials.base_url or self.config.get("base_url") or self.default_base_url).rstrip("/")

    def missing(self, what: str) -> ProviderResponseError:
        """The error for a success body that lacks a field the protocol promises."""
        return ProviderResponseError(f"{self.name} answered without {what}.", {"provider": self.name})


def estimate_tokens(text: str) -> int:
    """Roughly four characters a token: for a server that reports no usage (some local ones)."""
    return max(1, len(text) // 4) if text else 0


def read_usage(provider: str, prompt_tokens: Any, completion_tokens: Any, prompt: str,
               text: str) -> tuple[int, int, str]:
    """The call's (prompt, completion) tokens and where they come from (``UsageSource``).

    Counts the server reported are used as they are; a server that reported none gets an
    estimate from the text, labelled ``estimated`` so nobody takes it for a real count.

    :raises ProviderResponseError: when the server reported counts that cannot be real
        (negative, or not whole numbers): metering them would corrupt balances.
    """
    if prompt_tokens is None and completion_tokens is None:
        return estimate_tokens(prompt), estimate_tokens(text), UsageSource.ESTIMATED.value
    for value in (prompt_tokens, completion_tokens):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ProviderResponseError(f"{provider} reported token counts that cannot be real: "
                                        f"{prompt_tokens!r} in, {completion_tokens!r} out.",
                                        {"provider": provider, "reason": "usage"})
    if prompt_tokens is None or completion_tokens is None:
        # Half a report: the half given is real, the other is guessed, so the whole is a guess.
        return (prompt_tokens if prompt_tokens is not None else estimate_tokens(prompt),
                completion_tokens if completion_tokens is not None else estimate_tokens(text),
                UsageSource.ESTIMATED.value)
    return prompt_tokens, completion_tokens, UsageSource.REPORTED.value


def _server_sent_data(lines: Iterable[bytes]) -> Iterator[str]:
    """The ``data`` of each event in a server-sent event stream (WHATWG's event stream format)."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # a comment: some servers send these as keep-alives
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def _worth_retrying(status: int) -> bool:
    """Whether a later attempt may get past ``status``: a rate limit, a server-side timeout,
    any server error (Anthropic's 529 "overloaded" included)."""
    return status in (408, 429) or status >= 500


def _retry_after_seconds(value: str | None) -> float | None:
    """Read ``Retry-After`` as delta-seconds or an HTTP date (RFC 9110, section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _is_timeout(exc: requests.RequestException) -> bool:
    # requests wraps a read timeout met while reading the body in a ConnectionError.
    return isinstance(exc, requests.Timeout) or any(
        isinstance(arg, urllib3.exceptions.TimeoutError) for arg in exc.args)


def _dropped(exc: requests.RequestException) -> bool:
    """A connection that was made and then closed by the server (urllib3's ProtocolError)."""
    return any(isinstance(arg, urllib3.exceptions.ProtocolError) for arg in exc.args)


def _is_connect_failure(exc: requests.RequestException) -> bool:
    """A connection never made (worth retrying), as opposed to an answer that came too late."""
    return isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout) and not any(
        isinstance(arg, urllib3.exceptions.ReadTimeoutError) for arg in exc.args)
