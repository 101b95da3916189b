"""How DraftForge's four review agents do over a whole novel: their own work, and whole runs.

The novel is ``bench.draftforge_checks``' synthetic one (40 chapters, 100,000 words made of the
fixture manuscript's paragraphs, characters renamed every few chapters). Two measurements:

1. **The agents' own work** (goal: ≤ 3 s for all four): each agent's deterministic check over
   the book plus building its 40 prompts (numbered chapters; the continuity agent's summary of
   earlier chapters' character facts), with no model call; best of ``--repeat``.
2. **Whole runs** through a real app (fresh SQLite database, embedded Redis, DraftForge
   enabled): a project whose git manuscript holds the novel and its facts.md, one agent run of
   each agent made the way a worker makes it (``run_agent_try``: content read from git, the
   review, the results written), on the offline provider. Printed: the run's wall time, its
   model calls (usage-log rows; goal: ≤ chapters + 1), and the findings kept and discarded.

Run: ``.venv/bin/python -m bench.draftforge_agents [--words 100000] [--chapters 40] [--repeat 3] [--no-runs]``
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable

from inkwright_draftforge.agents import Continuity, Fact, ManuscriptAgent, Style, Timeline, chapters_of

from bench.draftforge_checks import FIXTURE, synthetic_manuscript

GOAL_SECONDS = 3.0
AGENTS: tuple[type[ManuscriptAgent], ...] = (Continuity, Style, Timeline, Fact)
CONTEXT_WINDOW = 5


def content_of(files: list[Any]) -> dict[str, Any]:
    """The content an agent gets from the project subject, for the book in memory."""
    return {"subject": {"kind": "draftforge.project", "id": "bench", "name": "The Lighthouse", "type": "novel"},
            "files": [{"path": f.path, "title": f.title, "chapter_index": f.chapter_index, "text": f.text}
                      for f in files],
            "changed": [], "ref": None}


def settings_for(agent: type[ManuscriptAgent], facts_text: str) -> dict[str, Any]:
    if agent is Continuity:
        return {"context_window": CONTEXT_WINDOW}
    if agent is Fact:
        return {"facts": {"path": "manuscript/facts.md", "text": facts_text}}
    return {}


def own_work(agent: ManuscriptAgent, content: dict[str, Any], settings: dict[str, Any]) -> tuple[int, int]:
    """What the agent does besides its model calls: ``(check findings, prompt characters)``."""
    chapters = chapters_of(content)
    findings = agent.deterministic([chapter.file for chapter in chapters], settings)
    prompt_chars = sum(len(agent.prompt(content, chapter, agent.background(chapters, position, settings)))
                       for position, chapter in enumerate(chapters))
    return len(findings), prompt_chars


def best_time(work: Callable[[], tuple[int, int]], repeat: int) -> tuple[float, tuple[int, int]]:
    best, answer = float("inf"), (0, 0)
    for _ in range(repeat):
        started = time.perf_counter()
        answer = work()
        best = min(best, time.perf_counter() - started)
    return best, answer


def measure_own_work(files: list[Any], facts_text: str, repeat: int) -> float:
    content = content_of(files)
    total = 0.0
    print("The agents' own work (checks and prompts, no model):")
    for agent_class in AGENTS:
        settings = settings_for(agent_class, facts_text)
        seconds, (found, prompt_chars) = best_time(lambda: own_work(agent_class(), content, settings), repeat)
        total += seconds
        print(f"  {agent_class.name:<11} {seconds:6.3f} s  {found:5d} check findings  "
              f"{prompt_chars:10,d} prompt characters")
    verdict = "within" if total <= GOAL_SECONDS else "OVER"
    print(f"  {'all four':<11} {total:6.3f} s  ({verdict} the {GOAL_SECONDS:.0f} s goal)")
    return total


def measure_runs(files: list[Any], facts_text: str) -> bool:
    """One real agent run of each agent; whether every run kept to chapters + 1 calls."""
    from bench.environment import BenchEnvironment

    within = True
    with BenchEnvironment() as environment:
        with environment.database("sqlite", PLUGINS=("inkwright", "inkwright-draftforge")) as bench_db:
            project_id = make_project(bench_db, files, facts_text)
            print(f"Whole runs through the app (offline provider, {len(files)} chapters):")
            for agent_class in AGENTS:
                figures = run_once(bench_db, project_id, agent_class.name)
                within &= figures["calls"] <= len(files) + 1 and figures["status"] == "completed"
                print(f"  {agent_class.name:<11} {figures['seconds']:6.2f} s  {figures['calls']:3d} model calls "
                      f"(≤ {len(files) + 1})  {figures['issues']:4d} findings kept, "
                      f"{figures['discarded']:3d} discarded  [{figures['status']}]")
    return within


def make_project(bench_db: Any, files: list[Any], facts_text: str) -> str:
    """The novel as a project of the bench's writer, on an unlimited tier (a whole book costs tokens)."""
    from inkwright_draftforge.manuscript_values import Author, Put
    from inkwright_draftforge.projects import ProjectService
    from inkwright_draftforge.repository_store import open_manuscript

    from app.auth.principal import optional_principal

    with bench_db.context() as (repos, state, _runs):
        with repos.transaction():
            repos.credit_accounts.set_tier(bench_db.user_id, "enterprise")
        project = ProjectService(optional_principal(), state.clock, repos).create(
            name="The Lighthouse", slug="the-lighthouse", project_type="novel",
            settings={"agents": {"continuity": {"context_window": CONTEXT_WINDOW}}})
        manuscript = open_manuscript(project)
        changes = [Put(f.path, f.text) for f in files] + [Put("manuscript/facts.md", facts_text)]
        manuscript.commit_changes(changes, Author("Bench", "bench@example.com"), "The novel",
                                  base=manuscript.head())
        return str(project.id)


def run_once(bench_db: Any, project_id: str, agent: str) -> dict[str, Any]:
    from app.agent_runs.execution import run_agent_try
    from app.agent_runs.service import agent_run_service
    from app.extensions import db
    from app.models import AgentRun, UsageLogEntry

    with bench_db.context() as (_repos, _state, _runs):
        run = agent_run_service(bench_db.tenant_id).start(subject_kind="draftforge.project", subject_id=project_id,
                                                          agent_type=agent, enqueue=False)
        run_id = run.id
    with bench_db.app.app_context():
        started = time.perf_counter()
        run_agent_try(str(bench_db.tenant_id), str(run_id))
        seconds = time.perf_counter() - started
        done = db.session.get(AgentRun, run_id)
        calls = db.session.query(UsageLogEntry).filter(UsageLogEntry.agent_run_id == run_id).count()
        figures = {"seconds": seconds, "calls": calls, "status": done.status.value,
                   "issues": done.issues_found or 0,
                   "discarded": int((done.context or {}).get("discarded_findings") or 0)}
        db.session.remove()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--chapters", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-runs", action="store_true", help="time the agents' own work only")
    arguments = parser.parse_args(argv)

    files = synthetic_manuscript(arguments.words, arguments.chapters)
    facts_text = (FIXTURE / "manuscript" / "facts.md").read_text(encoding="utf-8")
    print(f"{len(files)} chapters, {sum(len(f.text.split()) for f in files):,} words")
    total = measure_own_work(files, facts_text, arguments.repeat)
    within = True if arguments.no_runs else measure_runs(files, facts_text)
    return 0 if total <= GOAL_SECONDS and within else 1


if __name__ == "__main__":
    sys.exit(main())
