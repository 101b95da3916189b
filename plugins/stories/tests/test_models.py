"""Story and Chapter: the status table, metadata, chapters and the repository's scope."""

from __future__ import annotations

import pytest
from inkwright_stories.models import (
    STORY_TRANSITIONS,
    Chapter,
    Story,
    StoryStatus,
    character_names,
    check_story_move,
    reading_minutes,
)
from inkwright_stories.repositories import StoryRepository

from app.toolkit import IllegalTransitionError


@pytest.mark.parametrize(("current", "new"), [
    (StoryStatus.DRAFT, StoryStatus.GENERATING),
    (StoryStatus.GENERATING, StoryStatus.COMPLETED),
    (StoryStatus.GENERATING, StoryStatus.FAILED),
])
def test_legal_moves_pass(current, new):
    check_story_move(current, new)


@pytest.mark.parametrize(("current", "new"), [
    (StoryStatus.DRAFT, StoryStatus.COMPLETED),
    (StoryStatus.COMPLETED, StoryStatus.GENERATING),
    (StoryStatus.FAILED, StoryStatus.COMPLETED),
    (StoryStatus.GENERATING, StoryStatus.DRAFT),
])
def test_illegal_moves_raise_with_both_ends_named(current, new):
    with pytest.raises(IllegalTransitionError) as raised:
        check_story_move(current, new)
    assert raised.value.details == {"entity": "Story", "from": current.value, "to": new.value}


def test_every_status_has_a_row_in_the_table():
    assert set(STORY_TRANSITIONS) == set(StoryStatus)


def test_move_to_changes_the_status_only_when_allowed():
    story = Story(title="T", status=StoryStatus.DRAFT)
    story.move_to(StoryStatus.GENERATING)
    assert story.status == StoryStatus.GENERATING
    with pytest.raises(IllegalTransitionError):
        story.move_to(StoryStatus.DRAFT)
    assert story.status == StoryStatus.GENERATING


@pytest.mark.parametrize(("words", "minutes"), [(0, 0), (1, 1), (200, 1), (201, 2), (1000, 5)])
def test_reading_time_is_about_200_words_a_minute(words, minutes):
    assert reading_minutes(words) == minutes


def test_character_names_read_commas_semicolons_and_and():
    assert character_names("Mara, Tobias and Ines; Old Sam") == ["Mara", "Tobias", "Ines", "Old Sam"]
    assert character_names("Andrea Anderson") == ["Andrea Anderson"]
    assert character_names("") == [] and character_names(None) == []


def test_chapters_are_numbered_in_order_with_word_counts_and_go_with_their_story(app, make_user, row_count):
    account = make_user()
    with app.app_context():
        from app.toolkit import repositories
        repos = repositories(account.tenant_id)
        with repos.transaction():
            story = repos.get(StoryRepository).add(Story(title="Tides", status=StoryStatus.DRAFT))
            story.replace_chapters([{"title": "One", "content": "a b c"}, {"title": "Two", "content": "d e"}])
        story = repos.get(StoryRepository).require(story.id)
        assert [(c.order, c.title, c.word_count) for c in story.chapters] == [(1, "One", 3), (2, "Two", 2)]
        assert story.word_count == 5 and story.details["estimatedReadingTime"] == 1
        assert all(chapter.tenant_id == account.tenant_id for chapter in story.chapters)
        with repos.transaction():
            story.replace_chapters([{"title": "Only", "content": "x"}])
        assert row_count(Chapter) == 1
        with repos.transaction():
            repos.session.delete(story)
    assert row_count(Chapter) == 0


def test_the_repository_sees_only_its_tenants_live_stories(app, make_user):
    ours, theirs = make_user(), make_user()
    with app.app_context():
        from app.toolkit import repositories
        mine = repositories(ours.tenant_id).get(StoryRepository)
        other = repositories(theirs.tenant_id).get(StoryRepository)
        with repositories(ours.tenant_id).transaction():
            kept = mine.add(Story(title="Kept", status=StoryStatus.DRAFT))
            gone = mine.add(Story(title="Gone", status=StoryStatus.DRAFT))
        with repositories(theirs.tenant_id).transaction():
            other.add(Story(title="Theirs", status=StoryStatus.DRAFT))
        with repositories(ours.tenant_id).transaction():
            mine.delete(gone)
        found, total = mine.search()
        assert [s.title for s in found] == ["Kept"] and total == 1
        assert other.get(kept.id) is None
        assert mine.by_run("not-a-uuid") is None


def test_claim_moves_a_story_once(app, make_user):
    account = make_user()
    with app.app_context():
        from app.toolkit import repositories
        repos = repositories(account.tenant_id)
        stories = repos.get(StoryRepository)
        with repos.transaction():
            story = stories.add(Story(title="Race", status=StoryStatus.GENERATING))
        with repos.transaction():
            first = stories.claim(story.id, StoryStatus.GENERATING, StoryStatus.COMPLETED)
        with repos.transaction():
            second = stories.claim(story.id, StoryStatus.GENERATING, StoryStatus.FAILED)
        assert first is not None and first.status == StoryStatus.COMPLETED
        assert second is None
        with pytest.raises(IllegalTransitionError):
            stories.claim(story.id, StoryStatus.COMPLETED, StoryStatus.DRAFT)


def test_a_storys_chapters_load_within_its_tenant(app, make_user):
    """The scoped query hands its tenant to the chapters' selectin load (loader criteria), so
    a chapter row of another tenant pointing at this story never shows through it."""
    ours, theirs = make_user(), make_user()
    with app.app_context():
        from app.toolkit import repositories
        repos = repositories(ours.tenant_id)
        with repos.transaction():
            story = repos.get(StoryRepository).add(Story(title="Tides", status=StoryStatus.DRAFT))
            story.replace_chapters([{"title": "One", "content": "a b c"}])
            repos.session.add(Chapter(story_id=story.id, tenant_id=theirs.tenant_id, title="Stray",
                                      content="x", order=2, word_count=1))
        story_id = story.id
        repos.session.expunge_all()
        loaded = repos.get(StoryRepository).require(story_id)
        assert [chapter.title for chapter in loaded.chapters] == ["One"]
