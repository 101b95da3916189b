"""A review agent from a distribution of its own (tests/plugins/agent_template): found through
its entry point, it runs by the API, the CLI and a workflow step with no core change, and its
usage rows carry its agent_type."""

from __future__ import annotations

import re
import uuid

import pytest

from app.extensions import db
from app.models import UsageLogEntry
from app.runtime import repositories
from tests.agent_runs import reviewed
from tests.agent_runs.acme import acme_installed

TEXT = "It was a dark and stormy night.\nThe keeper arrived in the nick of time."


@pytest.fixture(scope="module")
def distribution(tmp_path_factory):
    with acme_installed(tmp_path_factory.mktemp("site")) as site:
        yield site


@pytest.fixture
def inkwright_plugins():
    return ("inkwright", "acme-cliches")  # the core, and the third party's distribution


@pytest.fixture
def app(distribution, make_app):
    return make_app()


reviewed_run = reviewed.reviewed_run


def usage_agent_types(app, run_id: str) -> list[str]:
    with app.app_context():
        return [row.agent_type for row in db.session.query(UsageLogEntry)
                .filter(UsageLogEntry.agent_run_id == uuid.UUID(run_id))]


def drafted(api_client, run_jobs) -> str:
    api_client.post("/api/workflows", data=reviewed.DRAFTING, content_type="application/yaml")
    started = api_client.post("/api/runs", json={"workflow": "drafting", "inputs": {"text": TEXT}})
    run_jobs()
    return started.json["data"]["id"]


def test_it_is_listed_and_runs_through_the_api(app, api_client, run_jobs):
    assert "acme.cliches" in [a["name"] for a in api_client.get("/api/agents").json["data"]["items"]]
    subject = drafted(api_client, run_jobs)
    started = api_client.post("/api/agent-runs", json={"subjectKind": "inkwright.run", "subjectId": subject,
                                                        "agentType": "acme.cliches"})
    assert started.status_code == 202, started.json
    run_jobs()
    done = api_client.get(f"/api/agent-runs/{started.json['data']['id']}").json["data"]

    assert done["status"] == "completed", done
    assert [(i["id"], i["category"], i["line"]) for i in done["results"]["issues"]] == [
        ("clich-001", "cliche", 1), ("clich-002", "opening", 1), ("clich-003", "cliche", 2)]
    assert usage_agent_types(app, done["id"]) == ["acme.cliches"]


def test_it_runs_from_the_cli(app, api_client, run_jobs, user):
    subject = drafted(api_client, run_jobs)
    with app.app_context():
        tenant = repositories(user.tenant_id).tenants.require(user.tenant_id).slug
    result = app.test_cli_runner().invoke(args=["inkwright", "agents", "run", "acme.cliches", "--subject", subject,
                                                "--tenant", tenant, "--now"])
    assert result.exit_code == 0, result.output
    run_id = re.search(r"Agent run ([0-9a-f-]{36})", result.output).group(1)
    assert "stock phrase" in result.output and usage_agent_types(app, run_id) == ["acme.cliches"]


def test_it_runs_as_a_workflow_step(app, api_client, run_jobs):
    source = reviewed.DRAFTING.replace("name: drafting", "name: drafting-reviewed") + \
        "  - id: review\n    agent: acme.cliches\n    needs: [draft]\n"
    assert api_client.post("/api/workflows", data=source, content_type="application/yaml").status_code in (200, 201)
    started = api_client.post("/api/runs", json={"workflow": "drafting-reviewed", "inputs": {"text": TEXT}})
    run_jobs()
    run = api_client.get(f"/api/runs/{started.json['data']['id']}").json["data"]
    [review] = [s for s in run["steps"] if s["key"] == "review"]
    assert run["status"] == "completed", run
    assert [i["category"] for i in review["output"]["issues"]].count("cliche") == 2
    assert usage_agent_types(app, review["output"]["agent_run_id"]) == ["acme.cliches"]
