"""DraftForge's review agents (inkwright_draftforge/agents.py), through the platform's agent-run API
on a real worker and the offline provider: each planted problem of the fixture manuscript is found
by the agent it belongs to, at its file and line, with at most one model call per chapter."""

from __future__ import annotations

import re
import uuid

import pytest
from inkwright_draftforge.agents import model_findings

from app.models import UsageLogEntry

CHAPTER_4 = "chapters/04-market-day.md"
CHAPTER_5 = "chapters/05-fog.md"
CHAPTER_6 = "chapters/06-the-keepers-log.md"
CHAPTER_7 = "chapters/07-measurements.md"
AGENTS = ("continuity", "style", "timeline", "fact")
PREFIXES = {"continuity": "cont", "style": "styl", "timeline": "time", "fact": "fact"}

# (agent, file, phrase the finding's line starts with, category, severity): the fixture's planted problems.
PLANTED = [
    ("continuity", CHAPTER_5, "Sarah’s brown eyes", "character_consistency", "error"),
    ("timeline", CHAPTER_4, "Tuesday, 22 March 2023", "date_weekday", "error"),
    ("timeline", CHAPTER_6, "She was 40 that spring", "age_mismatch", "error"),
    ("style", CHAPTER_6, "The box had been carefully sealed", "adverb_density", "warning"),
    ("style", CHAPTER_6, "The box had been carefully sealed", "passive_voice", "warning"),
    ("fact", CHAPTER_7, "The tower stood 60 meters high", "fact_consistency", "error"),
]


def line_of_phrase(text: str, phrase: str) -> int:
    """The line where ``phrase`` starts, however the prose is wrapped."""
    match = re.search(r"\s+".join(map(re.escape, phrase.split())), text)
    assert match, f"{phrase!r} is not in the text"
    return text.count("\n", 0, match.start()) + 1


@pytest.fixture
def review(api_client, user, make_project, run_jobs, fixture_files):
    """``review(agent, **project_fields) -> the finished run``, over the fixture manuscript."""

    def run(agent: str, **fields) -> dict:
        project_id = make_project(user, fixture_files, **fields)
        started = api_client.post("/api/agent-runs", json={"subjectKind": "draftforge.project",
                                                            "subjectId": project_id, "agentType": agent})
        assert started.status_code == 202, started.json
        run_jobs()
        done = api_client.get(f"/api/agent-runs/{started.json['data']['id']}").json["data"]
        assert done["status"] == "completed", done
        return done

    return run


def chapter_count(fixture_files: dict[str, str]) -> int:
    return sum(path.startswith("chapters/") for path in fixture_files)


def places(done: dict) -> set[tuple[str, int, str, str]]:
    return {(i["file"], i["line"], i["category"], i["severity"]) for i in done["results"]["issues"]}


def usage_rows(app, run_id: str) -> list[UsageLogEntry]:
    with app.app_context():
        from app.extensions import db
        rows = db.session.query(UsageLogEntry).filter(UsageLogEntry.agent_run_id == uuid.UUID(run_id)).all()
        db.session.expunge_all()
        return rows


@pytest.mark.parametrize("agent", AGENTS)
def test_each_agent_finds_its_planted_problems_at_their_lines(review, agent, fixture_files, app):
    done = review(agent)

    expected = {(path, line_of_phrase(fixture_files[path], phrase), category, severity)
                for owner, path, phrase, category, severity in PLANTED if owner == agent}
    assert expected <= places(done)
    # Each planted problem is its own agent's: no other agent reports it.
    others = {(path, line_of_phrase(fixture_files[path], phrase), category)
              for owner, path, phrase, category, _severity in PLANTED if owner != agent}
    assert not others & {(i["file"], i["line"], i["category"]) for i in done["results"]["issues"]}
    issues = done["results"]["issues"]
    assert all(i["id"].startswith(PREFIXES[agent] + "-") for i in issues)
    # A check's finding stands alone: no model finding shares its line and category.
    assert len({(i["file"], i["line"], i["category"]) for i in issues}) == len(issues)
    planted = [i for i in issues if (i["file"], i["line"], i["category"], i["severity"]) in expected]
    assert all(i["suggestion"] for i in planted)
    assert done["summary"].startswith(f"The {agent} agent read 8 chapters") and done["summary"].endswith(".")

    rows = usage_rows(app, done["id"])
    assert 0 < len(rows) <= chapter_count(fixture_files) + 1
    assert {row.agent_type for row in rows} == {agent}


def test_the_fact_agent_holds_the_chapters_to_facts_md(review, fixture_files):
    done = review("fact")

    line = line_of_phrase(fixture_files[CHAPTER_7], "The tower stood 60 meters high")
    tower = next(i for i in done["results"]["issues"] if (i["file"], i["line"], i["category"]) ==
                 (CHAPTER_7, line, "fact_consistency"))
    assert "manuscript/facts.md" in tower["message"]


def test_continuity_within_a_short_window_lets_chapter_3_go(review):
    done = review("continuity", settings={"agents": {"continuity": {"context_window": 1}}})

    assert not [i for i in done["results"]["issues"] if i["category"] == "character_consistency"
                and i["confidence"] == 1.0]
    assert done["context"]["settings"]["context_window"] == 1


def test_style_thresholds_come_from_the_projects_settings(review, fixture_files):
    done = review("style", settings={"agents": {"style": {"passive_per_paragraph": 10}}})

    paragraph = line_of_phrase(fixture_files[CHAPTER_6], "The box had been carefully sealed")
    assert (CHAPTER_6, paragraph, "adverb_density", "warning") in places(done)
    assert not [i for i in done["results"]["issues"] if i["category"] == "passive_voice"
                and i["confidence"] == 1.0]


def test_the_projects_model_is_the_one_called(review, app):
    done = review("timeline", settings={"agents": {"timeline": {"model": "offline:fast"}}})

    assert {row.model_name for row in usage_rows(app, done["id"])} == {"offline:fast"}
    assert done["results"]["model_info"]["model"] == "offline:fast"


def test_the_installed_agents_are_listed(api_client):
    listed = api_client.get("/api/agents")

    assert listed.status_code == 200, listed.json
    agents = {item["name"]: item for item in listed.json["data"]["items"]}
    assert set(AGENTS) <= set(agents)
    assert all(agents[name]["description"] and agents[name]["categories"] for name in AGENTS)
    assert "character_consistency" in agents["continuity"]["categories"]
    assert "draftforge.project" in listed.json["data"]["subjectKinds"]


@pytest.mark.parametrize("answer", ["not json", "[]", '{"findings": "none"}', '{"findings": [{"line": "3"}]}',
                                    '{"findings": [{"line": true, "severity": "error", "category": "sequence", '
                                    '"message": "x"}]}'])
def test_an_answer_that_is_not_the_json_asked_for_gives_no_findings(answer):
    assert model_findings(answer, ("sequence",)) == []


def test_a_well_formed_finding_of_another_category_is_left_out():
    answer = ('{"findings": [{"line": 3, "severity": "warning", "category": "sequence", "message": "Out of order."},'
              ' {"line": 4, "severity": "warning", "category": "gossip", "message": "Not ours."}]}')

    assert [f["line"] for f in model_findings(answer, ("sequence",))] == [3]
