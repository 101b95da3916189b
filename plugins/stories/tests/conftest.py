"""Fixtures for the stories plugin's tests, on top of the core's (the ``pytest11`` plugin)."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Callable

import pytest

from app.providers.offline import OfflineProvider
from app.toolkit import Completion, CompletionRequest, StepContext

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')

STORY_REQUEST = {"n_chapters": 3, "story_instructions": "A lighthouse keeper finds a message in a bottle.",
                 "primary_characters": "Mara, Tobias", "secondary_characters": "the harbour master",
                 "l_chapter": 120}


class OfflineContext(StepContext):
    """A step context whose model calls go straight to the offline provider (no metering),
    recording each prompt, so a skill is tested on its own."""

    def __init__(self, inputs: dict[str, Any] | None = None, answer: Callable[[str], str] | None = None) -> None:
        self._inputs = inputs or {}
        self.calls: list[dict[str, Any]] = []
        self.progress: list[tuple[float, str]] = []
        self.answer = answer
        self.provider = OfflineProvider()

    @property
    def inputs(self) -> dict[str, Any]:
        return self._inputs

    def generate(self, prompt=None, *, messages=None, model=None, temperature=None, max_tokens=None,
                 json_schema=None, stop=(), system=None, on_chunk=None, stream=False) -> Completion:
        self.calls.append({"prompt": prompt, "system": system, "max_tokens": max_tokens, "json_schema": json_schema,
                           "stream": stream})
        if self.answer is not None:
            text = self.answer(prompt)
            return Completion(text=text, input_tokens=1, output_tokens=1, model="stub", offline=False)
        chat = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        completion = self.provider.complete(CompletionRequest(model="writer", messages=tuple(chat),
                                                              max_tokens=max_tokens, json_schema=json_schema))
        return dataclasses.replace(completion, offline=True)

    def generate_media(self, model, *, media_type, params=None, timeout=None):
        raise NotImplementedError

    def store_artifact(self, content, *, media_type, filename=None, metadata=None):
        raise NotImplementedError

    def check_cancelled(self) -> None:
        return None

    def report_progress(self, fraction: float, message: str = "") -> None:
        self.progress.append((fraction, message))


@pytest.fixture
def offline_context() -> Callable[..., OfflineContext]:
    return OfflineContext


@pytest.fixture
def story_request() -> dict[str, Any]:
    return dict(STORY_REQUEST)


@pytest.fixture
def generate(api_client, run_jobs) -> Callable[..., dict[str, Any]]:
    """Ask for a story over the API, run the workers dry, and return the finished story."""

    def make(client=None, **changes: Any) -> dict[str, Any]:
        client = client or api_client
        response = client.post("/api/workflows/story/generate", json={**STORY_REQUEST, **changes})
        assert response.status_code == 202, response.json
        run_jobs()
        story_id = response.json["data"]["story"]["id"]
        story = client.get(f"/api/stories/{story_id}")
        assert story.status_code == 200, story.json
        return {"response": response.json["data"], "story": story.json["data"]}

    return make


@pytest.fixture
def browser(app, user):
    """A test client signed in through the login form (CSRF protection stays on)."""
    client = app.test_client()
    token = csrf_of(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": user.password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def csrf_of(client, page: str) -> str:
    """The hidden CSRF token of a page, as a browser would send it back."""
    response = client.get(page)
    assert response.status_code == 200, f"GET {page} answered {response.status_code}"
    match = CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, f"no csrf_token on {page}"
    return match.group(1)


@pytest.fixture
def csrf_token() -> Callable[[Any, str], str]:
    return csrf_of


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


@pytest.fixture(autouse=True)
def scoped_to_tenants(tenant_scope_guard):
    """The plugin's requests and jobs stay within their tenant, as the core's do (issue 9)."""
    return tenant_scope_guard
