"""DraftForge's writing statistics: the counting rule, the stats row's JSON, one commit at a
time, and a replay from nothing that must land on the same stats."""

from __future__ import annotations

import copy
import json
import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from inkwright_draftforge.stats import (
    CommitRecord,
    DayStats,
    FileCounts,
    ProjectStats,
    apply_commit,
    chapters_in,
    count_characters,
    count_file,
    count_words,
    current_streak_on,
    rebuild,
)

SEED_KEYS = ["word_count", "chapter_count", "character_count", "last_commit_sha", "last_commit_at", "total_commits",
             "current_streak_days", "longest_streak_days", "last_write_date", "stats_history"]
SEED_DAY_KEYS = ["date", "word_count", "chapter_count", "words_written_today", "commits"]
UTC = timezone.utc


def at(day: int, hour: int = 12, minute: int = 0, zone: str = "UTC") -> datetime:
    """A time on the ``day``-th of March 2025, in ``zone``."""
    return datetime(2025, 3, day, hour, minute, tzinfo=ZoneInfo(zone))


def commit(stats: ProjectStats, sha: str, when: datetime, changed: dict, previous: dict | None = None,
           zone: str = "UTC") -> ProjectStats:
    return apply_commit(stats, sha=sha, committed_at=when, changed=changed, previous=previous or {}, timezone=zone)


# -- Counting ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [
    ("", 0),
    ("The cat sat on the mat.", 6),
    ("Don't stop — it's a well-known rock’n’roll song.", 7),
    ("'Tis the end-- or -- the beginning'", 6),
    ("100,000 words at 3.14 each, or 1, 2, 3.", 9),
    ("slash/separated and em—dash", 5),
    ("Zoë and Ἀθῆναι and Москва", 5),
])
def test_words_are_runs_of_letters_and_digits_with_inner_apostrophes_and_hyphens(text, words):
    assert count_words(text) == words


@pytest.mark.parametrize("markdown, words", [
    ("# Chapter One\n\nIt began.", 4),
    ("## A heading ##\n", 2),
    ("It was **very** _very_ ***dark***, ~~light~~ `code`.", 7),
    ("See [the old map](https://example.com/maps/old_(1901) \"Old map\") now.", 5),
    ("A [reference link][map] here.\n\n[map]: https://example.com/map \"Map\"", 4),
    ("Look: ![a cat on a mat](images/cat.png) gone.", 2),
    ("Mail <someone@example.com> or <https://example.com/x> or https://example.com/y or www.example.com.", 4),
    ("Visible <!-- a note to self, forty words long --> text.", 2),
    ("---\ntitle: The Lighthouse\npov: Mara\n---\nThe sea.", 2),
    ("1. First\n2. Second\n- third\n* [x] fourth", 4),
    ("> A quote\n> > nested", 3),
    ("Before\n\n* * *\n\n---\n\n***\n\nAfter", 2),
    ("| Name | Age |\n|------|:---:|\n| Mara | 30 |", 4),
    ("A claim[^1].\n\n[^1]: Its source.", 4),
    ("Title {#chapter-one .unnumbered}", 1),
    ("One<br>two <em>three</em>", 3),
    ("caf&eacute; &amp; &mdash; cr&egrave;me", 2),
    ("\\*not emphasis\\* and 2 \\* 3", 5),
    ("```python\nprint('hello')\n```", 2),
])
def test_markdown_syntax_and_urls_are_not_words(markdown, words):
    assert count_words(markdown) == words


@pytest.mark.parametrize("markdown, characters", [
    ("", 0),
    ("Hi, you.", 7),
    ("# **Bold** move", 8),
    ("[link](https://example.com/a-long-url)", 4),
    ("> - item one", 7),
    ("  tabs\tand\nnewlines  ", 15),
    ("caf&eacute;", 4),
])
def test_characters_are_the_non_whitespace_characters_of_the_prose(markdown, characters):
    assert count_characters(markdown) == characters


def test_an_accent_typed_as_a_combining_mark_does_not_split_a_word():
    decomposed = "re\u0301sume\u0301 cafe\u0301"
    assert count_words(decomposed) == 2
    assert count_characters(decomposed) == len("résumécafé")


def test_windows_line_endings_count_as_unix_ones():
    text = "---\ntitle: x\n---\n# One\n\n1. Two words\n> three\n"
    assert count_file(text.replace("\n", "\r\n")) == count_file(text) == FileCounts(words=4, characters=16)


def test_count_file_gives_both_counts():
    text = "# Chapter\n\nMara *ran* to the [light](https://x.example/)."
    assert count_file(text) == FileCounts(words=count_words(text), characters=count_characters(text))


def test_chapters_are_markdown_files_directly_in_the_chapters_directory():
    is_chapter = chapters_in("chapters")
    assert is_chapter("chapters/01-the-sea.md")
    assert not is_chapter("chapters/drafts/01-old.md")
    assert not is_chapter("chapters/notes.txt")
    assert not is_chapter("notes/01-the-sea.md")
    assert not is_chapter("chapters.md")
    assert chapters_in("book/chapters/")("book/chapters/02.md")


# -- The stats row's JSON ----------------------------------------------------------------------

def sample_stats() -> ProjectStats:
    stats = ProjectStats()
    stats = commit(stats, "a1", at(1, 9), {"chapters/01.md": FileCounts(1000, 5200)})
    stats = commit(stats, "b2", at(2, 21), {"chapters/02.md": FileCounts(800, 4000)})
    return stats


def test_to_json_has_exactly_the_seed_columns_and_history_keys():
    data = sample_stats().to_json()
    assert list(data) == SEED_KEYS
    assert [list(day) for day in data["stats_history"]] == [SEED_DAY_KEYS, SEED_DAY_KEYS]
    assert data["stats_history"][-1] == {"date": "2025-03-02", "word_count": 1800, "chapter_count": 2,
                                         "words_written_today": 800, "commits": 1}
    assert data["last_commit_at"] == "2025-03-02T21:00:00+00:00"
    assert data["last_write_date"] == "2025-03-02"
    json.dumps(data)


def test_from_json_reads_back_what_to_json_wrote():
    stats = sample_stats()
    assert ProjectStats.from_json(stats.to_json()) == stats
    assert ProjectStats.from_json(json.dumps(stats.to_json())) == stats


def test_from_json_reads_the_seed_example_newest_first_and_a_database_row():
    seed_history = [
        {"date": "2025-10-29", "word_count": 45678, "chapter_count": 12, "words_written_today": 1250, "commits": 3},
        {"date": "2025-10-28", "word_count": 44428, "chapter_count": 12, "words_written_today": 890, "commits": 2},
    ]
    row = {"id": 7, "project_id": 3, "word_count": 45678, "chapter_count": 12, "character_count": 250000,
           "last_commit_sha": "abc", "last_commit_at": "2025-10-29T18:02:00Z", "total_commits": 40,
           "current_streak_days": 2, "longest_streak_days": 9, "last_write_date": "2025-10-29",
           "stats_history": json.dumps(seed_history), "created_at": "2025-09-01T00:00:00Z"}
    stats = ProjectStats.from_json(row)
    assert [day.date for day in stats.stats_history] == [date(2025, 10, 28), date(2025, 10, 29)]
    assert stats.last_commit_at == datetime(2025, 10, 29, 18, 2, tzinfo=UTC)
    assert stats.last_write_date == date(2025, 10, 29)
    assert ProjectStats.from_json({}) == ProjectStats()
    # SQLite returns the time without its zone; it was written in UTC.
    assert ProjectStats.from_json({"last_commit_at": "2025-10-29 18:02:00"}).last_commit_at == stats.last_commit_at


def test_a_commit_that_changes_no_prose_file_still_counts_as_a_commit():
    stats = commit(sample_stats(), "c3", at(2, 23), {})
    assert (stats.total_commits, stats.stats_history[-1].commits, stats.word_count) == (3, 2, 1800)


# -- One commit --------------------------------------------------------------------------------

def test_a_first_chapter_starts_the_totals_the_history_and_a_streak():
    stats = commit(ProjectStats(), "a1", at(3, 10), {"chapters/01.md": FileCounts(1200, 6000)})
    assert (stats.word_count, stats.character_count, stats.chapter_count) == (1200, 6000, 1)
    assert (stats.last_commit_sha, stats.last_commit_at, stats.total_commits) == ("a1", at(3, 10), 1)
    assert stats.stats_history == [DayStats(date(2025, 3, 3), 1200, 1, 1200, 1)]
    assert (stats.current_streak_days, stats.longest_streak_days, stats.last_write_date) == (1, 1, date(2025, 3, 3))


def test_an_edit_adds_the_difference_of_the_changed_files_counts_only():
    stats = commit(ProjectStats(), "a1", at(3), {"chapters/01.md": FileCounts(1000, 5000),
                                                 "chapters/02.md": FileCounts(2000, 9000)})
    stats = commit(stats, "b2", at(3, 15), {"chapters/02.md": FileCounts(2250, 10000)},
                   previous={"chapters/02.md": FileCounts(2000, 9000)})
    assert (stats.word_count, stats.character_count, stats.chapter_count) == (3250, 15000, 2)
    assert stats.stats_history == [DayStats(date(2025, 3, 3), 3250, 2, 3250, 2)]


def test_deleting_and_renaming_chapters_and_files_outside_them():
    stats = commit(ProjectStats(), "a1", at(3), {"chapters/01.md": FileCounts(1000, 5000),
                                                 "chapters/02.md": FileCounts(500, 2500),
                                                 "notes/outline.md": FileCounts(300, 1500)})
    assert (stats.word_count, stats.chapter_count) == (1800, 2)
    stats = commit(stats, "b2", at(4), {"chapters/02.md": None},
                   previous={"chapters/02.md": FileCounts(500, 2500)})
    assert (stats.word_count, stats.character_count, stats.chapter_count) == (1300, 6500, 1)
    # A rename is a deletion and an addition; the chapter count stays, the words move.
    stats = commit(stats, "c3", at(5), {"chapters/01.md": None, "chapters/01-the-sea.md": FileCounts(1000, 5000)},
                   previous={"chapters/01.md": FileCounts(1000, 5000)})
    assert (stats.word_count, stats.chapter_count) == (1300, 1)
    # Deleting a file that was never counted changes nothing.
    stats = commit(stats, "d4", at(6), {"chapters/ghost.md": None})
    assert (stats.word_count, stats.chapter_count, stats.total_commits) == (1300, 1, 4)


def test_apply_commit_leaves_the_stats_it_was_given_as_they_were():
    stats = sample_stats()
    before = copy.deepcopy(stats)
    commit(stats, "c3", at(2, 22), {"chapters/02.md": FileCounts(900, 4500)},
           previous={"chapters/02.md": FileCounts(800, 4000)})
    assert stats == before


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="aware"):
        commit(ProjectStats(), "a1", datetime(2025, 3, 3, 12), {"chapters/01.md": FileCounts(1, 1)})


def test_the_same_commit_delivered_twice_counts_once():
    stats = sample_stats()
    again = commit(stats, "b2", at(2, 21), {"chapters/02.md": FileCounts(800, 4000)})
    assert again == stats


def test_the_words_written_on_a_day_are_its_net_gain_never_negative():
    stats = commit(ProjectStats(), "a1", at(3), {"chapters/01.md": FileCounts(1000, 5000)})
    stats = commit(stats, "b2", at(4, 9), {"chapters/01.md": FileCounts(500, 2500)},
                   previous={"chapters/01.md": FileCounts(1000, 5000)})
    stats = commit(stats, "c3", at(4, 17), {"chapters/01.md": FileCounts(800, 4000)},
                   previous={"chapters/01.md": FileCounts(500, 2500)})
    assert stats.stats_history[-1] == DayStats(date(2025, 3, 4), 800, 1, 0, 2)
    stats = commit(stats, "d4", at(4, 20), {"chapters/01.md": FileCounts(1100, 5500)},
                   previous={"chapters/01.md": FileCounts(800, 4000)})
    assert stats.stats_history[-1] == DayStats(date(2025, 3, 4), 1100, 1, 100, 3)


def test_streaks_count_consecutive_writing_days_and_a_day_off_breaks_them():
    stats = ProjectStats()
    words = 0
    for sha, day in (("a", 1), ("b", 2), ("c", 3), ("d", 5)):
        words += 100
        stats = commit(stats, sha, at(day), {"chapters/01.md": FileCounts(words, words)},
                       previous={"chapters/01.md": FileCounts(words - 100, words - 100)} if words > 100 else {})
        if day == 3:
            assert (stats.current_streak_days, stats.longest_streak_days) == (3, 3)
    assert (stats.current_streak_days, stats.longest_streak_days, stats.last_write_date) == (1, 3, date(2025, 3, 5))


def test_a_commit_that_only_cuts_is_not_writing_but_does_not_break_a_streak_the_next_day():
    stats = commit(ProjectStats(), "a", at(1), {"chapters/01.md": FileCounts(1000, 5000)})
    cut = commit(stats, "b", at(2), {"chapters/01.md": FileCounts(900, 4500)},
                 previous={"chapters/01.md": FileCounts(1000, 5000)})
    assert (cut.current_streak_days, cut.last_write_date) == (1, date(2025, 3, 1))
    assert cut.stats_history[-1] == DayStats(date(2025, 3, 2), 900, 1, 0, 1)
    # The next day's writing does not continue the streak: the 2nd had none.
    wrote = commit(cut, "c", at(3), {"chapters/01.md": FileCounts(950, 4700)},
                   previous={"chapters/01.md": FileCounts(900, 4500)})
    assert (wrote.current_streak_days, wrote.longest_streak_days) == (1, 1)
    # A commit two days after the last writing day shows the streak broken.
    late = commit(cut, "d", at(3), {"chapters/01.md": FileCounts(850, 4300)},
                  previous={"chapters/01.md": FileCounts(900, 4500)})
    assert (late.current_streak_days, late.longest_streak_days) == (0, 1)


def test_a_commit_counts_for_its_local_date_in_the_writers_time_zone():
    late_evening_in_new_york = datetime(2025, 3, 10, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    first = {"chapters/01.md": FileCounts(100, 500)}
    in_new_york = commit(ProjectStats(), "a", late_evening_in_new_york, first, zone="America/New_York")
    in_utc = commit(ProjectStats(), "a", late_evening_in_new_york, first, zone="UTC")
    assert (in_new_york.stats_history[0].date, in_utc.stats_history[0].date) == (date(2025, 3, 10), date(2025, 3, 11))
    # 23:50 and 00:10 in Auckland are two writing days, though the same UTC day (the 10th).
    before_midnight = datetime(2025, 3, 10, 10, 50, tzinfo=UTC)
    after_midnight = datetime(2025, 3, 10, 11, 10, tzinfo=UTC)
    stats = commit(ProjectStats(), "a", before_midnight, first, zone="Pacific/Auckland")
    stats = commit(stats, "b", after_midnight, {"chapters/01.md": FileCounts(200, 1000)}, previous=first,
                   zone="Pacific/Auckland")
    assert [day.date for day in stats.stats_history] == [date(2025, 3, 10), date(2025, 3, 11)]
    assert stats.current_streak_days == 2


def test_a_commit_dated_before_the_latest_day_is_booked_on_that_day():
    stats = commit(ProjectStats(), "a", at(5), {"chapters/01.md": FileCounts(100, 500)})
    stats = commit(stats, "b", at(3), {"chapters/02.md": FileCounts(50, 250)})
    assert stats.stats_history == [DayStats(date(2025, 3, 5), 150, 2, 150, 2)]
    assert stats.last_commit_at == at(3)


def test_the_streak_to_show_today_is_zero_once_a_day_has_passed_without_writing():
    stats = commit(ProjectStats(), "a", at(1), {"chapters/01.md": FileCounts(100, 500)})
    assert current_streak_on(stats, date(2025, 3, 2)) == 1
    assert current_streak_on(stats, date(2025, 3, 3)) == 0
    assert current_streak_on(ProjectStats(), date(2025, 3, 3)) == 0


# -- Incremental against a replay --------------------------------------------------------------

CHAPTERS = [f"chapters/{number:02d}.md" for number in range(1, 13)]
OTHER_FILES = ["notes/outline.md", "chapters/drafts/old.md"]
# Writing days of March 2025 (the 9th and 10th off, so a streak breaks), some commits of
# them only cutting words.
DAYS = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 18, 19, 20]


def random_commits(seed: int) -> list[CommitRecord]:
    """Commits of a few days each, with times bunched around midnight UTC (where the writer's
    zone decides the day), adding, editing, deleting and renaming files."""
    chance = random.Random(seed)
    tree: dict[str, FileCounts] = {}
    commits: list[CommitRecord] = []
    for day in DAYS:
        start = datetime(2025, 3, day, 20, tzinfo=UTC) + timedelta(minutes=chance.randrange(60))
        for index in range(chance.randint(1, 5)):
            when = start + timedelta(minutes=47 * index + chance.randrange(30))
            changed = random_change(chance, tree)
            commits.append(CommitRecord(sha=f"{day:02d}{index}{chance.getrandbits(32):08x}", committed_at=when,
                                        changed=changed))
            for path, counts in changed.items():
                if counts is None:
                    tree.pop(path, None)
                else:
                    tree[path] = counts
    return commits


def random_change(chance: random.Random, tree: dict[str, FileCounts]) -> dict[str, FileCounts | None]:
    existing = sorted(tree)
    absent = [path for path in CHAPTERS + OTHER_FILES if path not in tree]
    action = chance.choice(["add", "edit", "edit", "edit", "cut", "delete", "rename", "several"])
    if not existing or (action == "add" and absent):
        return {chance.choice(absent): FileCounts(chance.randint(0, 3000), chance.randint(0, 15000))}
    path = chance.choice(existing)
    old = tree[path]
    if action == "delete":
        return {path: None}
    if action == "rename" and absent:
        return {path: None, chance.choice(absent): old}
    if action == "cut":
        return {path: FileCounts(max(0, old.words - chance.randint(1, 400)), max(0, old.characters - 2000))}
    if action == "several":
        return {name: FileCounts(tree[name].words + chance.randint(-50, 200), tree[name].characters + 500)
                for name in chance.sample(existing, min(3, len(existing)))}
    return {path: FileCounts(old.words + chance.randint(-100, 900), old.characters + chance.randint(-500, 4500))}


def incrementally(commits: list[CommitRecord], zone: str) -> ProjectStats:
    """The stats as the plugin keeps them: one apply_commit per push, given only the changed
    files' counts, and stored as JSON between pushes."""
    stored = ProjectStats().to_json()
    tree: dict[str, FileCounts] = {}
    for record in commits:
        previous = {path: tree[path] for path in record.changed if path in tree}
        stats = apply_commit(ProjectStats.from_json(stored), sha=record.sha, committed_at=record.committed_at,
                             changed=record.changed, previous=previous, timezone=zone)
        stored = json.loads(json.dumps(stats.to_json()))
        for path, counts in record.changed.items():
            if counts is None:
                tree.pop(path, None)
            else:
                tree[path] = counts
    return ProjectStats.from_json(stored)


def recounted(commits: list[CommitRecord], zone: str) -> dict:
    """The stats worked out the slow way, from every file's counts at the end of every day."""
    tree: dict[str, FileCounts] = {}
    closing: dict[date, tuple[int, int]] = {}
    commits_on: dict[date, int] = {}
    writing_days: set[date] = set()
    for record in commits:
        day = record.committed_at.astimezone(ZoneInfo(zone)).date()
        before = sum(counts.words for counts in tree.values())
        for path, counts in record.changed.items():
            if counts is None:
                tree.pop(path, None)
            else:
                tree[path] = counts
        words = sum(counts.words for counts in tree.values())
        if words > before:
            writing_days.add(day)
        closing[day] = (words, sum(1 for path in tree if path in CHAPTERS))
        commits_on[day] = commits_on.get(day, 0) + 1
    history, opening = [], 0
    for day in sorted(closing):
        words, chapters = closing[day]
        history.append(DayStats(day, words, chapters, max(0, words - opening), commits_on[day]))
        opening = words
    runs, run, previous_day = [], 0, None
    for day in sorted(writing_days):
        run = run + 1 if previous_day is not None and day - previous_day == timedelta(days=1) else 1
        runs.append(run)
        previous_day = day
    last_day = max(closing)
    current = runs[-1] if last_day - max(writing_days) <= timedelta(days=1) else 0
    return {"word_count": sum(counts.words for counts in tree.values()),
            "character_count": sum(counts.characters for counts in tree.values()),
            "chapter_count": closing[last_day][1], "history": history, "longest": max(runs), "current": current,
            "last_write_date": max(writing_days)}


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Pacific/Auckland"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_updates_equal_a_replay_and_a_full_recount(zone, seed):
    commits = random_commits(seed)
    assert any(counts is None for record in commits for counts in record.changed.values()), "no deletion drawn"
    incremental = incrementally(commits, zone)
    assert rebuild(commits, timezone=zone) == incremental

    expected = recounted(commits, zone)
    assert (incremental.word_count, incremental.character_count, incremental.chapter_count) == (
        expected["word_count"], expected["character_count"], expected["chapter_count"])
    assert incremental.stats_history == expected["history"]
    assert incremental.longest_streak_days == expected["longest"]
    assert incremental.current_streak_days == expected["current"]
    assert incremental.last_write_date == expected["last_write_date"]
    assert incremental.total_commits == len(commits)
    assert (incremental.last_commit_sha, incremental.last_commit_at) == (commits[-1].sha, commits[-1].committed_at)
    # The days off in the middle of the month broke the first run of writing days.
    assert incremental.longest_streak_days < len({day.date for day in incremental.stats_history})
