"""``agent.run.completed`` reaches a tenant's webhooks like any event of the catalog."""

from __future__ import annotations

import json

from tests.agent_runs import reviewed

reviewed_run = reviewed.reviewed_run
start_review = reviewed.start_review


def test_a_finished_agent_run_is_delivered_to_a_webhook_that_hears_it(api_client, receiver, start_review, run_jobs):
    made = api_client.post("/api/webhooks", json={"url": receiver.url, "events": ["agent.run.completed"]})
    assert made.status_code == 201, made.json
    receiver.secret = made.json["data"]["secret"]  # shown once, at creation
    run = start_review().json["data"]

    for _ in range(3):  # the run, then its fan-out, then the delivery
        run_jobs()

    [delivery] = receiver.received
    assert delivery.verified
    body = json.loads(delivery.body)
    assert body["type"] == "agent.run.completed"
    assert body["data"]["agentRunId"] == run["id"] and body["data"]["agentType"] == "test.proofread"
    assert body["data"]["issuesFound"] >= 2
