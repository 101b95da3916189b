"""The packaged workflow end to end: a StoryRequest in, a completed story with its events out."""

from __future__ import annotations

from inkwright_stories.models import StoryStatus
from inkwright_stories.repositories import StoryRepository

from app.toolkit import repositories


def event_types(api_client) -> list[str]:
    events = api_client.get("/api/events?limit=100").json["data"]
    items = events["items"] if isinstance(events, dict) else events
    return [event["type"] for event in items]


def test_three_chapters_make_a_completed_story_in_order(generate, api_client):
    result = generate(n_chapters=3, l_chapter=120)
    started, story = result["response"], result["story"]
    assert started["status"] == "generating" and started["attempts"] == 1
    assert started["story"]["status"] == "generating" and started["sessionId"] == started["story"]["sessionId"]

    assert story["status"] == "completed", story
    assert [chapter["order"] for chapter in story["chapters"]] == [1, 2, 3]
    assert all(chapter["title"] and chapter["content"] for chapter in story["chapters"])
    assert all(chapter["wordCount"] == len(chapter["content"].split()) for chapter in story["chapters"])
    assert all(70 <= chapter["wordCount"] <= 200 for chapter in story["chapters"]), \
        [chapter["wordCount"] for chapter in story["chapters"]]
    assert story["wordCount"] == sum(chapter["wordCount"] for chapter in story["chapters"])
    metadata = story["metadata"]
    assert metadata["primaryCharacters"] == ["Mara", "Tobias"]
    assert metadata["secondaryCharacters"] == ["the harbour master"]
    assert metadata["genre"] and metadata["theme"]
    assert metadata["estimatedReadingTime"] == -(-story["wordCount"] // 200)
    assert story["offline"] is True and not story["title"].startswith("Untitled")


def test_the_seed_events_are_recorded_in_order(generate, api_client):
    result = generate()
    types = event_types(api_client)
    for expected in ("story.created", "story.generation.started", "story.generation.completed"):
        assert expected in types, types
    completed = next(event for event in api_client.get("/api/events?limit=100").json["data"]["items"]
                     if event["type"] == "story.generation.completed")
    assert completed["payload"]["storyId"] == result["story"]["id"]
    assert completed["payload"]["sessionId"] == result["response"]["sessionId"]
    assert completed["payload"]["success"] is True and completed["payload"]["duration"] >= 0


def test_status_follows_the_run_from_pending_to_completed(api_client, run_jobs, story_request):
    started = api_client.post("/api/workflows/story/generate", json=story_request).json["data"]
    session = started["sessionId"]
    before = api_client.get(f"/api/workflows/{session}/status")
    assert before.status_code == 200
    assert before.json["data"]["status"] in ("pending", "running") and before.json["data"]["progress"] < 1
    assert before.json["data"]["storyId"] == started["story"]["id"]
    run_jobs()
    after = api_client.get(f"/api/workflows/{session}/status").json["data"]
    assert after["status"] == "completed" and after["progress"] == 1.0
    assert after["completedAt"] and after["startedAt"] and "is written" in after["message"]


def test_a_failed_run_fails_its_story_with_the_reason(app, api_client, run_jobs, story_request, monkeypatch):
    from inkwright_stories import skills

    class MuseLeft(RuntimeError):
        retryable = False  # fail at once rather than after the step's retries

    def broken(self, ctx, inputs):
        raise MuseLeft("the muse left")
    monkeypatch.setattr(skills.OutlineStory, "run", broken)
    started = api_client.post("/api/workflows/story/generate", json=story_request).json["data"]
    run_jobs()
    story = api_client.get(f"/api/stories/{started['story']['id']}").json["data"]
    assert story["status"] == "failed"
    # the error's envelope: its code and message, never the exception's class name (issue 9)
    assert story["error"]["message"] == "The outline step failed: the muse left"
    assert "MuseLeft" not in str(story["error"])
    assert story["chapters"] == []
    status = api_client.get(f"/api/workflows/{started['sessionId']}/status").json["data"]
    assert status["status"] == "failed"
    [told] = api_client.get("/api/notifications").json["data"]["items"]
    assert (told["title"], told["message"], told["priority"]) == (
        "Your story could not be written", "The outline step failed: the muse left", "high")


def test_a_story_finished_before_it_knew_its_run_is_still_filled(app, api_client, run_jobs, story_request, user):
    # The run's end event found no story (as when a worker outruns the request): finishing
    # from the run later fills it all the same, and only once.
    started = api_client.post("/api/workflows/story/generate", json=story_request).json["data"]
    run_jobs()
    with app.app_context():
        from inkwright_stories.generation import StoryGeneration
        repos = repositories(user.tenant_id)
        run = repos.runs.get(started["sessionId"])
        assert StoryGeneration(repos).finish_from_run(run) is None  # already completed: nothing to do
        story = repos.get(StoryRepository).get(started["story"]["id"])
        assert story.status == StoryStatus.COMPLETED and len(story.chapters) == 3


def test_the_writer_is_notified_when_the_story_is_ready(generate, api_client):
    story = generate(n_chapters=2, l_chapter=80)["story"]

    [told] = api_client.get("/api/notifications").json["data"]["items"]
    assert told["type"] == "story_ready" and told["title"] == f"Your story “{story['title']}” is ready"
    assert told["actionUrl"] == f"/stories/{story['id']}" and told["relatedEntityId"] == story["id"]
    assert told["message"] == f"2 chapters, {story['wordCount']:,} words."
