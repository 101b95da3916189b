"""Keeping a project's stats row up to date with its manuscript, one commit at a time.

``record_commit(project, sha)`` runs after every write that moves the branch — a save in the
studio or the API, a git push, a GitHub delivery of a commit here — in the job of
``stats_jobs.py``, and inline for a new project's first commit. It counts only the chapters that
differ between the commit the row was last brought to and ``sha``, takes their previous
counts from the row's ``file_counts``, and applies the difference with ``stats.apply_commit``.
"""

from __future__ import annotations

from typing import Any

from app.toolkit import DomainEvent, repositories

from .manuscript_values import FileMissing, RefMissing
from .models import Project, ProjectStatsRecord
from .repositories import ProjectStatsRepository
from .repository_store import open_manuscript
from .stats import CommitRecord, FileCounts, ProjectStats, apply_commit, chapters_in, count_file, rebuild

EVENT = "stats.updated"


def record_commit(project: Project, sha: str, *, repos: Any = None, actor_id: Any = None,
                  timezone: str = "UTC") -> ProjectStatsRecord:
    """Bring the project's stats row to commit ``sha`` of its manuscript and publish
    ``stats.updated``; the row as written.

    A commit already recorded, or one the row has already gone past (an older commit recorded
    late), changes nothing and publishes nothing. A recorded commit the repository no longer
    has (a force push) is recounted from the row's ``file_counts``.
    """
    repos = repos or repositories()
    stats_repo = repos.get(ProjectStatsRepository)
    manuscript = open_manuscript(project)
    is_chapter = chapters_in(project.chapters_directory)
    with repos.transaction() as unit:
        # FOR UPDATE: two saves landing together must not both start from the same row.
        row = stats_repo.session.scalars(
            stats_repo.select(ProjectStatsRecord.project_id == project.id).with_for_update()).first()
        if row is None:
            row = stats_repo.add(ProjectStatsRecord(project_id=project.id))
        head = manuscript.log(ref=sha, limit=1)[0]
        old = row.last_commit_sha
        if old == head.sha or (old and manuscript.is_ancestor(head.sha, old)):
            return row
        counts: dict[str, Any] = dict(row.file_counts or {})
        try:
            paths = manuscript.changed_paths(old, head.sha) if old else manuscript.list_files(head.sha)
        except RefMissing:
            paths = sorted(set(counts) | set(manuscript.list_files(head.sha)))
        changed: dict[str, FileCounts | None] = {}
        for path in paths:
            if not is_chapter(path):
                continue
            try:
                changed[path] = count_file(manuscript.read(path, head.sha))
            except FileMissing:
                changed[path] = None
        previous = {path: FileCounts(**counts[path]) for path in changed if path in counts}
        before = ProjectStats.from_json({column: getattr(row, column) for column in STATS_COLUMNS})
        after = apply_commit(before, sha=head.sha, committed_at=head.time, changed=changed, previous=previous,
                             timezone=timezone, is_chapter=is_chapter)
        for path, value in changed.items():
            if value is None:
                counts.pop(path, None)
            else:
                counts[path] = {"words": value.words, "characters": value.characters}
        for column in STATS_COLUMNS:
            setattr(row, column, getattr(after, column))
        row.stats_history = [day.to_json() for day in after.stats_history]
        row.file_counts = counts
        stats_repo.save(row)
        unit.publish(DomainEvent(
            type=EVENT, aggregate_id=str(project.id), tenant_id=project.tenant_id, actor_id=actor_id,
            payload={"projectId": str(project.id), "sha": head.sha, "wordCount": after.word_count,
                     "chapterCount": after.chapter_count, "characterCount": after.character_count,
                     "totalCommits": after.total_commits, "changedPaths": sorted(changed)}))
    return row


STATS_COLUMNS = ("word_count", "chapter_count", "character_count", "last_commit_sha", "last_commit_at",
                 "total_commits", "current_streak_days", "longest_streak_days", "last_write_date",
                 "stats_history")


#: The most commits a rebuild replays (a manuscript's history is far shorter).
REBUILD_LIMIT = 100_000


def rebuild_stats(project: Project, *, repos: Any = None, timezone: str = "UTC") -> ProjectStatsRecord:
    """Recount the project's stats row from its whole history, oldest commit first (the
    ``stats rebuild`` command: after a force push, or to repair a row that drifted). Each
    commit counts only the chapters it changed, as the saves did."""
    repos = repos or repositories()
    manuscript = open_manuscript(project)
    is_chapter = chapters_in(project.chapters_directory)
    records, tree = [], {}
    for info in reversed(manuscript.log(limit=REBUILD_LIMIT)):
        changed: dict[str, FileCounts | None] = {}
        for path in info.changed_paths:
            if is_chapter(path):
                try:
                    changed[path] = count_file(manuscript.read(path, info.sha))
                except FileMissing:
                    changed[path] = None
        records.append(CommitRecord(info.sha, info.time, changed))
        for path, counts in changed.items():
            if counts is None:
                tree.pop(path, None)
            else:
                tree[path] = counts
    after = rebuild(records, timezone=timezone, is_chapter=is_chapter)
    stats_repo = repos.get(ProjectStatsRepository)
    with repos.transaction():
        row = stats_repo.of_project(project.id) or stats_repo.add(ProjectStatsRecord(project_id=project.id))
        for column in STATS_COLUMNS:
            setattr(row, column, getattr(after, column))
        row.stats_history = [day.to_json() for day in after.stats_history]
        row.file_counts = {path: {"words": c.words, "characters": c.characters} for path, c in tree.items()}
        stats_repo.save(row)
    return row
