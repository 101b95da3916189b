"""The manuscript store: a bare git repository written with dulwich, read by the real git client."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from inkwright_draftforge.manuscript import ManuscriptRepository
from inkwright_draftforge.manuscript_values import (
    Author,
    Delete,
    EditConflict,
    FileMissing,
    Move,
    Put,
    RefMissing,
)

ADA = Author("Ada Lovelace", "ada@example.org")
BEN = Author("Ben Okri", "ben@example.org")
GIT = "/usr/bin/git"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def manuscript(tmp_path: Path) -> ManuscriptRepository:
    return ManuscriptRepository.create(tmp_path / "novel.git", author=ADA)


def git(*args: str, cwd: Path, home: Path) -> str:
    """The real git client, with an identity and a HOME of its own: the test must not depend
    on (or write to) the machine's git configuration."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Cleo Clone", "GIT_AUTHOR_EMAIL": "cleo@example.org",
        "GIT_COMMITTER_NAME": "Cleo Clone", "GIT_COMMITTER_EMAIL": "cleo@example.org",
        "GIT_TERMINAL_PROMPT": "0",
    }
    done = subprocess.run([GIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"git {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


# -- Creating, writing, reading ---------------------------------------------------------------

def test_a_new_manuscript_has_its_branch_and_chapters_directory(tmp_path: Path) -> None:
    created = ManuscriptRepository.create(tmp_path / "draft.git", "drafts", author=ADA)

    opened = ManuscriptRepository.open(tmp_path / "draft.git")
    assert opened.default_branch == "drafts"
    assert opened.head() == created.head() is not None
    assert opened.list_files() == ["chapters/.gitkeep"]
    assert opened.chapters() == []
    assert opened.log()[0].author_email == "ada@example.org"
    with pytest.raises(FileExistsError):
        ManuscriptRepository.create(tmp_path / "draft.git", author=ADA)


def test_chapters_are_added_in_order_and_read_at_any_commit(manuscript: ManuscriptRepository) -> None:
    start = manuscript.head()
    first = manuscript.add_chapter("The Storm", "It rained.\r\nAll night.\r\n", ADA, start)
    second = manuscript.add_chapter("Calm, After!", "# Calm after\n\nQuiet.\n", BEN, first.sha)
    third = manuscript.add_chapter("Ünder the Pier", "Tide out.\n", ADA, second.sha)

    assert [first.path, second.path, third.path] == [
        "chapters/01-the-storm.md", "chapters/02-calm-after.md", "chapters/03-under-the-pier.md"]
    chapters = manuscript.chapters()
    assert [(c.index, c.title) for c in chapters] == [(1, "The Storm"), (2, "Calm after"), (3, "Ünder the Pier")]
    # A text without a heading gets the title as one; line endings become \n.
    assert chapters[0].text == "# The Storm\n\nIt rained.\nAll night.\n"

    assert manuscript.read(first.path, ref=first.sha) == chapters[0].text
    assert [c.path for c in manuscript.chapters(ref=first.sha)] == [first.path]
    assert manuscript.list_files(ref=second.sha, directory="chapters") == [
        "chapters/.gitkeep", first.path, second.path]
    with pytest.raises(FileMissing):
        manuscript.read(third.path, ref=second.sha)
    with pytest.raises(RefMissing):
        manuscript.read(first.path, ref="no-such-branch")


def test_chapters_sort_by_their_number_not_as_strings(manuscript: ManuscriptRepository) -> None:
    manuscript.commit_changes([Put("chapters/10-ten.md", "# Ten\n"), Put("chapters/9-nine.md", "nine\n"),
                               Put("chapters/notes.txt", "not a chapter"), Put("chapters/deep/01-x.md", "x")],
                              ADA, "Files from elsewhere", manuscript.head())

    assert [(c.path, c.title) for c in manuscript.chapters()] == [
        ("chapters/9-nine.md", "Nine"), ("chapters/10-ten.md", "Ten")]
    assert manuscript.add_chapter("Eleven", "", ADA, None).path == "chapters/11-eleven.md"


def test_history_and_diffs(manuscript: ManuscriptRepository) -> None:
    when = datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    added = manuscript.add_chapter("One", "first line\nsecond line\n", ADA, None, now=when)
    edited = manuscript.save_chapter(added.path, "# One\n\nfirst line\nsecond line, longer\nthird\n", BEN,
                                     added.sha, message="Tighten chapter one")
    other = manuscript.commit_changes([Put("manuscript/outline.md", "- one\n")], ADA, "Outline", edited)

    log = manuscript.log()
    assert [c.sha for c in log[:3]] == [other, edited, added.sha]
    assert log[1].parents == [added.sha]
    assert (log[1].author_name, log[1].author_email, log[1].message) == ("Ben Okri", "ben@example.org",
                                                                        "Tighten chapter one\n")
    assert log[2].time == datetime(2025, 3, 1, 7, 30, tzinfo=timezone.utc)
    assert log[1].changed_paths == [added.path]
    assert [c.sha for c in manuscript.log(path=added.path)] == [edited, added.sha]
    assert [c.sha for c in manuscript.log(limit=1, offset=1)] == [edited]

    (change,) = manuscript.diff(edited)
    assert (change.path, change.status, change.old_path) == (added.path, "modified", added.path)
    assert "-second line\n+second line, longer\n+third\n" in change.unified_diff
    assert change.unified_diff.startswith(f"--- a/{added.path}\n+++ b/{added.path}\n")
    assert (change.added_lines, change.removed_lines) == (2, 1)
    assert manuscript.diff(other)[0].status == "added"
    assert manuscript.changed_paths(added.sha, other) == [added.path, "manuscript/outline.md"]


def test_a_rename_keeps_the_number_and_shows_as_a_rename(manuscript: ManuscriptRepository) -> None:
    text = "The harbour was empty that morning, and the boats lay on their sides in the mud.\n" * 5
    first = manuscript.add_chapter("Low Tide", text, ADA, None)
    manuscript.add_chapter("High Tide", "Water.\n", ADA, None)

    renamed = manuscript.rename_chapter(first.path, "The Empty Harbour", BEN, manuscript.head())

    assert renamed.path == "chapters/01-the-empty-harbour.md"
    assert manuscript.chapters()[0].title == "The Empty Harbour"
    assert manuscript.read(renamed.path).startswith("# The Empty Harbour\n\nThe harbour was empty")
    (change,) = manuscript.diff(renamed.sha)
    assert (change.status, change.old_path, change.path) == ("renamed", first.path, renamed.path)
    assert (change.added_lines, change.removed_lines) == (1, 1)


def test_reorder_renumbers_every_chapter_in_one_commit(manuscript: ManuscriptRepository) -> None:
    for title in ("Alpha", "Beta", "Gamma"):
        manuscript.add_chapter(title, f"{title} text\n", ADA, None)
    before = manuscript.head()
    alpha, beta, gamma = (c.path for c in manuscript.chapters())

    sha = manuscript.reorder_chapters([gamma, alpha, beta], ADA, before)

    assert manuscript.log(limit=1)[0].parents == [before]
    assert [(c.path, c.title) for c in manuscript.chapters()] == [
        ("chapters/01-gamma.md", "Gamma"), ("chapters/02-alpha.md", "Alpha"), ("chapters/03-beta.md", "Beta")]
    assert sorted(d.status for d in manuscript.diff(sha)) == ["renamed"] * 3
    with pytest.raises(ValueError, match="each chapter"):
        manuscript.reorder_chapters(["chapters/01-gamma.md"], ADA, sha)
    with pytest.raises(ValueError, match="more than once"):
        manuscript.reorder_chapters(["chapters/01-gamma.md"] * 3, ADA, sha)


def test_delete_move_and_a_change_that_changes_nothing(manuscript: ManuscriptRepository) -> None:
    one = manuscript.add_chapter("One", "1\n", ADA, None)
    two = manuscript.add_chapter("Two", "2\n", ADA, None)

    moved = manuscript.commit_changes([Move(two.path, "manuscript/cut/two.md")], ADA, "Cut two", two.sha)
    assert manuscript.list_files(directory="manuscript") == ["manuscript/cut/two.md"]
    deleted = manuscript.delete_chapter(one.path, ADA, moved)
    assert [c.path for c in manuscript.chapters()] == []
    assert manuscript.save_chapter("chapters/03-x.md", "x", ADA, deleted) != deleted
    assert manuscript.save_chapter("chapters/03-x.md", "x", ADA, None) == manuscript.head()  # no new commit
    with pytest.raises(FileMissing):
        manuscript.commit_changes([Delete(one.path)], ADA, "Again", None)


# -- Editing from a stale base --------------------------------------------------------------

def test_a_stale_base_that_touched_the_same_file_is_a_conflict(manuscript: ManuscriptRepository) -> None:
    chapter = manuscript.add_chapter("Storm", "Rain.\n", ADA, None)
    ben_saved = manuscript.save_chapter(chapter.path, "# Storm\n\nHail.\n", BEN, chapter.sha)

    with pytest.raises(EditConflict) as conflict:
        manuscript.save_chapter(chapter.path, "# Storm\n\nSnow.\n", ADA, chapter.sha)

    assert conflict.value.path == chapter.path
    assert conflict.value.base_text == "# Storm\n\nRain.\n"
    assert conflict.value.head_text == "# Storm\n\nHail.\n"
    assert conflict.value.head_sha == ben_saved == manuscript.head()
    with pytest.raises(EditConflict):  # a rename from the stale base touches the file too
        manuscript.rename_chapter(chapter.path, "Squall", ADA, chapter.sha)

    manuscript.delete_chapter(chapter.path, BEN, ben_saved)
    with pytest.raises(EditConflict) as deleted:
        manuscript.rename_chapter(chapter.path, "Squall", ADA, ben_saved)
    assert (deleted.value.base_text, deleted.value.head_text) == ("# Storm\n\nHail.\n", None)


def test_a_stale_base_whose_files_did_not_change_is_rebased(manuscript: ManuscriptRepository) -> None:
    one = manuscript.add_chapter("One", "1\n", ADA, None)
    two = manuscript.add_chapter("Two", "2\n", ADA, None)
    ben_saved = manuscript.save_chapter(two.path, "# Two\n\nTwo, by Ben.\n", BEN, two.sha)

    ada_saved = manuscript.save_chapter(one.path, "# One\n\nOne, by Ada.\n", ADA, two.sha)

    assert manuscript.log(limit=1)[0].parents == [ben_saved]
    assert manuscript.read(two.path, ref=ada_saved) == "# Two\n\nTwo, by Ben.\n"
    assert manuscript.read(one.path, ref=ada_saved) == "# One\n\nOne, by Ada.\n"


def test_a_chapter_added_since_the_base_makes_a_reorder_conflict(manuscript: ManuscriptRepository) -> None:
    one = manuscript.add_chapter("One", "1\n", ADA, None)
    two = manuscript.add_chapter("Two", "2\n", ADA, None)
    three = manuscript.add_chapter("Three", "3\n", BEN, two.sha)

    with pytest.raises(EditConflict) as conflict:
        manuscript.reorder_chapters([two.path, one.path], ADA, two.sha)
    assert (conflict.value.path, conflict.value.base_text) == (three.path, None)


# -- Refusing bad paths -------------------------------------------------------------------------

@pytest.mark.parametrize("path, reason", [
    ("/etc/passwd", "absolute"),
    ("chapters/../../escape.md", r"\.\."),
    ("chapters/./01-a.md", r"\.\."),
    (".git/config", r"\.git"),
    ("chapters/.GIT/hooks/post-update", r"\.git"),
    ("chapters//01-a.md", "empty part"),
    ("chapters\\01-a.md", "backslash"),
    ("README.md", "outside the manuscript's directories"),
    ("notes/01-a.md", "outside the manuscript's directories"),
    ("", "non-empty"),
])
def test_bad_paths_are_refused(manuscript: ManuscriptRepository, path: str, reason: str) -> None:
    head = manuscript.head()
    with pytest.raises(ValueError, match=reason):
        manuscript.commit_changes([Put(path, "x")], ADA, "Bad", None)
    assert manuscript.head() == head


@pytest.mark.parametrize("path, reason", [
    ("chapters/01-a.txt", "Markdown"),
    ("manuscript/01-a.md", "not a file directly inside chapters/"),
    ("chapters/part-one/01-a.md", "not a file directly inside chapters/"),
])
def test_chapter_methods_take_only_markdown_files_in_the_chapters_directory(
        manuscript: ManuscriptRepository, path: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        manuscript.save_chapter(path, "x", ADA, None)


def test_a_move_out_of_the_allowed_directories_and_a_bad_branch_are_refused(
        manuscript: ManuscriptRepository) -> None:
    chapter = manuscript.add_chapter("One", "1\n", ADA, None)
    with pytest.raises(ValueError, match="outside"):
        manuscript.commit_changes([Move(chapter.path, "hooks/post-receive")], ADA, "Sneaky", None)
    with pytest.raises(ValueError, match="valid branch"):
        manuscript.commit_changes([Put("chapters/02-b.md", "b")], ADA, "x", None, branch="../../config")
    with pytest.raises(RefMissing):
        manuscript.commit_changes([Put("chapters/02-b.md", "b")], ADA, "x", None, branch="elsewhere")


# -- Concurrent writers ---------------------------------------------------------------------

def test_concurrent_threads_lose_no_commit(manuscript: ManuscriptRepository) -> None:
    writers, commits_each = 8, 5
    start = manuscript.head()
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        base = start
        try:
            for number in range(commits_each):
                # A writer's base is its own last commit, which the others make stale at once:
                # its file is unchanged since, so each write is rebased, and none is lost.
                base = manuscript.commit_changes([Put(f"manuscript/writer-{writer}.md", f"draft {number}\n")],
                                                 ADA, f"writer {writer} draft {number}", base)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert failures == []
    messages = {c.message.strip() for c in manuscript.log(limit=100)}
    assert {f"writer {w} draft {n}" for w in range(writers) for n in range(commits_each)} <= messages
    assert len(manuscript.log(limit=100)) == writers * commits_each + 1
    assert all(manuscript.read(f"manuscript/writer-{w}.md") == f"draft {commits_each - 1}\n" for w in range(writers))


WRITER_PROCESS = """
import sys
from inkwright_draftforge.manuscript import ManuscriptRepository
from inkwright_draftforge.manuscript_values import Author, Put
manuscript = ManuscriptRepository.open(sys.argv[1])
for number in range(5):
    manuscript.add_chapter(f"Process {sys.argv[2]} chapter {number}", "text\\n", Author("P", "p@example.org"), None)
"""


def test_concurrent_processes_lose_no_commit_and_number_no_chapter_twice(
        manuscript: ManuscriptRepository) -> None:
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
    processes = [subprocess.Popen([sys.executable, "-c", WRITER_PROCESS, str(manuscript.path), str(number)],
                                  env=env, stderr=subprocess.PIPE, text=True) for number in range(4)]
    for process in processes:
        _, stderr = process.communicate(timeout=90)
        assert process.returncode == 0, stderr

    chapters = manuscript.chapters()
    assert len(chapters) == 20
    # The next number is chosen under the lock, so no two processes picked the same one.
    assert [c.path.split("/")[1][:2] for c in chapters] == [f"{n:02d}" for n in range(1, 21)]


# -- The real git client ----------------------------------------------------------------------

def test_a_git_clone_pushes_and_pulls_alongside_the_studio(manuscript: ManuscriptRepository, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    first = manuscript.add_chapter("Arrival", "The train was late.\n", ADA, None)
    clone = tmp_path / "clone"

    # A clone gets the chapters the studio wrote, on the default branch.
    git("clone", str(manuscript.path), str(clone), cwd=tmp_path, home=home)
    assert (clone / first.path).read_text() == "# Arrival\n\nThe train was late.\n"
    assert git("rev-parse", "HEAD", cwd=clone, home=home).strip() == manuscript.head()
    assert git("fsck", "--strict", cwd=manuscript.path, home=home) == ""

    # A commit pushed with git is what the studio reads next.
    (clone / "chapters" / "02-departure.md").write_text("# Departure\n\nShe left at dawn.\n")
    git("add", "chapters/02-departure.md", cwd=clone, home=home)
    git("commit", "-m", "Write the departure", cwd=clone, home=home)
    git("push", "origin", "main", cwd=clone, home=home)
    pushed = git("rev-parse", "HEAD", cwd=clone, home=home).strip()
    assert manuscript.head() == pushed
    assert [c.title for c in manuscript.chapters()] == ["Arrival", "Departure"]
    latest = manuscript.log(limit=1)[0]
    assert (latest.author_name, latest.message, latest.changed_paths) == (
        "Cleo Clone", "Write the departure\n", ["chapters/02-departure.md"])
    assert manuscript.is_ancestor(first.sha, pushed)

    # A save in the studio, on the pushed commit, is what git pull brings down.
    saved = manuscript.save_chapter(first.path, "# Arrival\n\nThe train was very late.\n", ADA, pushed)
    git("pull", "--ff-only", "origin", "main", cwd=clone, home=home)
    assert git("rev-parse", "HEAD", cwd=clone, home=home).strip() == saved
    assert (clone / first.path).read_text() == "# Arrival\n\nThe train was very late.\n"
    assert "Ada Lovelace <ada@example.org>" in git("log", "-1", "--format=%an <%ae>", cwd=clone, home=home)
    assert git("fsck", "--strict", cwd=manuscript.path, home=home) == ""


def test_a_write_on_a_base_a_push_has_since_changed_is_a_conflict(
        manuscript: ManuscriptRepository, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    chapter = manuscript.add_chapter("Arrival", "Late.\n", ADA, None)
    clone = tmp_path / "clone"
    git("clone", str(manuscript.path), str(clone), cwd=tmp_path, home=home)
    (clone / chapter.path).write_text("# Arrival\n\nOn time.\n")
    git("commit", "-am", "Fix the train", cwd=clone, home=home)
    git("push", "origin", "main", cwd=clone, home=home)

    with pytest.raises(EditConflict) as conflict:
        manuscript.save_chapter(chapter.path, "# Arrival\n\nVery late.\n", ADA, chapter.sha)
    assert conflict.value.head_text == "# Arrival\n\nOn time.\n"
    assert not manuscript.is_ancestor(manuscript.head(), chapter.sha)


def test_a_push_landing_mid_write_is_kept_and_the_write_is_made_again_on_it(
        manuscript: ManuscriptRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import inkwright_draftforge.manuscript as module

    home = tmp_path / "home"
    home.mkdir()
    chapter = manuscript.add_chapter("Arrival", "Late.\n", ADA, None)
    clone = tmp_path / "clone"
    git("clone", str(manuscript.path), str(clone), cwd=tmp_path, home=home)
    real_apply = module.apply_changes
    pushed: list[str] = []

    def apply_while_someone_pushes(snapshot, changes):  # type: ignore[no-untyped-def]
        # The push does not take the studio's lock: it lands between the write reading the
        # head and swapping the ref, which only the compare-and-swap can notice.
        if not pushed:
            (clone / "manuscript").mkdir()
            (clone / "manuscript" / "notes.md").write_text("Pushed mid-write.\n")
            git("add", "manuscript/notes.md", cwd=clone, home=home)
            git("commit", "-m", "Notes", cwd=clone, home=home)
            git("push", "origin", "main", cwd=clone, home=home)
            pushed.append(git("rev-parse", "HEAD", cwd=clone, home=home).strip())
        return real_apply(snapshot, changes)

    monkeypatch.setattr(module, "apply_changes", apply_while_someone_pushes)
    saved = manuscript.save_chapter(chapter.path, "# Arrival\n\nVery late.\n", ADA, chapter.sha)

    assert manuscript.log(limit=1)[0].parents == pushed
    assert manuscript.read("manuscript/notes.md", ref=saved) == "Pushed mid-write.\n"
    assert manuscript.read(chapter.path, ref=saved) == "# Arrival\n\nVery late.\n"
