"""A user of tenant B gets 404 for every tenant-A resource the API exposes (issue 2, "Done when").

The routes are read from the app's URL map, so a route added later (a plugin's too) is
covered without editing this file; a route whose URL parameters this file cannot fill with
a tenant-A id fails the test until someone says which id belongs there.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from app.api import EnvelopeBlueprint
from app.notifications import notify
from app.pytest_plugin import Account, ApiClient
from app.repositories.export_jobs import ExportJobRepository
from app.repositories.webhooks import WebhookDeliveryRepository, WebhookRepository
from app.runtime import repositories

#: Endpoints whose URL parameters name no tenant data, and why.
NOT_TENANT_RESOURCES = {
    "swagger_asset": "static files of the API docs page",
    # Feature flags are the platform's, not a tenant's: only platform administrators reach them.
    "feature_flags.get_flag": "a platform-wide flag", "feature_flags.update_flag": "a platform-wide flag",
    "feature_flags.delete_flag": "a platform-wide flag",
}
CALLED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass
class Side:
    """One tenant's account, credentials and the ids of what it owns."""

    account: Account
    client: ApiClient
    key_client: ApiClient
    ids: dict[str, str]


#: A tenant's own workflow: a step that stores an artifact, then one awaiting a selection.
#: Each tenant's name, version and step ids (``P_``) are its own, so none exists in the other.
WORKFLOW = """\
name: NAME
version: "VERSION"
steps:
  - id: P_notes
    skill: test.echo
    with: {text: notes, artifact: "P's notes"}
  - id: P_pick
    skill: test.echo
    needs: [P_notes]
    candidates: 2
    select: user
    with: {text: "{{ steps.P_notes.output.text }}"}
"""


def own_work(client: ApiClient, upload_workflow, start_run, run_jobs, name: str, version: str,
             prefix: str) -> dict[str, str]:
    """Upload a workflow, run it until a step awaits a selection; the ids of what that made."""
    upload_workflow(client, WORKFLOW.replace("NAME", name).replace("VERSION", version).replace("P", prefix))
    run = start_run(client, name)
    run_jobs()
    detail = client.get(f"/api/runs/{run['id']}").json["data"]
    step_key = f"{prefix}_pick"
    assert {s["key"]: s["status"] for s in detail["steps"]}[step_key] == "awaiting_selection", detail
    [artifact] = client.get(f"/api/runs/{run['id']}/artifacts").json["data"]
    return {"name": name, "version": version, "run_id": run["id"], "step_key": step_key,
            "artifact_id": artifact["id"]}


def own_webhook(client: ApiClient) -> dict[str, str]:
    """A webhook of the tenant and a delivery of its test event (left pending: nobody works it)."""
    made = client.post("/api/webhooks", json={"url": "http://127.0.0.1:9/isolation", "events": ["run.completed"]})
    assert made.status_code == 201, made.json
    delivery = client.post(f"/api/webhooks/{made.json['data']['id']}/test").json["data"]
    return {"webhook_id": made.json["data"]["id"], "delivery_id": delivery["id"]}


def own_export(client: ApiClient, run_jobs, run_id: str) -> dict[str, str]:
    """An EPUB of the run's written steps, made on the worker (its file downloadable)."""
    made = client.post("/api/exports", json={"subjectKind": "inkwright.run", "subjectId": run_id,
                                             "exportType": "epub"})
    assert made.status_code == 202, made.json
    run_jobs()
    return {"export_id": made.json["data"]["id"]}


def own_notification(app, account: Account) -> dict[str, str]:
    """A notification of the side's owner (a person's, whichever tenant they act in)."""
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            return {"notification_id": str(notify(account.user.id, "comment", "isolation probe").id)}


@pytest.fixture
def tenant_a(app, make_user, login_api, create_key, add_member, bearer, upload_workflow, start_run,
             run_jobs) -> Side:
    owner, colleague = make_user(name="Alice"), make_user(name="Aaron")
    client = login_api(owner)
    key = create_key(client, name="tenant A's key", role="owner")  # may do all a key can, in its tenant
    membership = add_member(client, owner.tenant_id, colleague, "member")
    event = client.get("/api/events", query_string={"type": "api_key.created"}).json["data"]["items"][0]
    work = own_work(client, upload_workflow, start_run, run_jobs, "alpha.ledger", "1.1a", "a")
    work.update(own_webhook(client))
    work.update(own_export(client, run_jobs, work["run_id"]))
    work.update(own_notification(app, owner))
    ids = {"tenant_id": str(owner.tenant_id), "membership_id": membership["id"], "key_id": key["id"],
           "event_id": event["id"], **work}
    return Side(owner, client, bearer(key["secret"]), ids)


@pytest.fixture
def tenant_b(app, make_user, login_api, create_key, bearer, upload_workflow, start_run, run_jobs) -> Side:
    owner = make_user(name="Bob")
    client = login_api(owner)
    key = create_key(client, name="tenant B's key", role="owner")  # may do all a key can, in its tenant
    own_membership = client.get(f"/api/tenants/{owner.tenant_id}/members").json["data"][0]
    event = client.get("/api/events", query_string={"type": "api_key.created"}).json["data"]["items"][0]
    work = own_work(client, upload_workflow, start_run, run_jobs, "bravo.ledger", "2.2b", "b")
    work.update(own_webhook(client))
    work.update(own_export(client, run_jobs, work["run_id"]))
    work.update(own_notification(app, owner))
    ids = {"tenant_id": str(owner.tenant_id), "membership_id": own_membership["id"], "key_id": key["id"],
           "event_id": event["id"], **work}
    return Side(owner, client, bearer(key["secret"]), ids)


def tenant_state(app_repos, tenant_id: str) -> dict[str, Any]:
    """Everything of a tenant a cross-tenant request could change, as plain values."""
    with app_repos() as repos:
        tenant = repos.tenants.require(tenant_id)
        scoped = repos.for_tenant(tenant.id)
        return {
            "tenant": (tenant.name, tenant.slug, tenant.kind, tenant.deleted_at),
            "members": sorted((str(m.id), str(m.user_id), m.role.value) for m in scoped.memberships.list()),
            "keys": sorted((str(k.id), k.name, k.role.value, k.status.value, k.revoked_at)
                           for k in scoped.api_keys.list()),
            "events": sorted(str(e.id) for e in scoped.events.list()),
            "workflows": sorted((str(w.id), w.name, w.version, w.checksum) for w in scoped.workflow_versions.list()),
            "runs": sorted((str(r.id), r.status.value, r.steps_done, r.updated_at) for r in scoped.runs.list()),
            "steps": sorted((str(s.id), s.status.value, s.user_selection, len(s.candidates or []), s.attempt,
                             s.updated_at) for s in scoped.run_steps.list()),
            "artifacts": sorted((str(a.id), a.content_hash) for a in scoped.artifacts.list()),
            "webhooks": sorted((str(w.id), w.url, w.events, w.is_active, w.total_deliveries)
                               for w in scoped.get(WebhookRepository).list()),
            "deliveries": sorted((str(d.id), d.status.value, d.attempt_number)
                                 for d in scoped.get(WebhookDeliveryRepository).list()),
            "exports": sorted((str(e.id), e.status.value, e.output_uri) for e in scoped.get(ExportJobRepository).list()),
        }


def request_body(spec: dict, path: str, method: str, email: str) -> dict | None:
    """A valid body for the operation, from its OpenAPI schema (so validation passes and
    the request reaches the view). Emails name the intruder, so a leak would add them."""
    operation = spec["paths"].get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schema = content["schema"]
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    body = {}
    for name in schema.get("required", []):
        field = schema["properties"][name]
        if "enum" in field:
            body[name] = field["enum"][0]
        elif field.get("format") == "email":
            body[name] = email
        elif field.get("format") == "uuid":
            body[name] = str(uuid.uuid4())
        elif field.get("type") == "string":
            body[name] = "isolation probe"
        elif field.get("type") == "integer":
            body[name] = field.get("minimum", 1)
        elif field.get("type") == "boolean":
            body[name] = True
        else:
            pytest.fail(f"{method} {path}: teach request_body to fill {name!r} ({field})")
    return body


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # with tenant-A ids
    ghost_path: str  # the same, each tenant-A id replaced by an id that exists nowhere
    documented: str  # as the OpenAPI document spells it
    ghosts: tuple[tuple[str, str], ...]  # (tenant-A id, its stand-in)


def cross_tenant_calls(app: Flask, a: Side, b: Side) -> list[Call]:
    """Every method of every parameterised /api/ route, with at least one parameter holding
    a tenant-A id and the rest tenant-B's own."""
    calls, unfillable = [], []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or not rule.arguments or rule.endpoint in NOT_TENANT_RESOURCES:
            continue
        names = sorted(rule.arguments)
        missing = [name for name in names if name not in a.ids]
        if missing:
            unfillable.append(f"{rule.rule} ({rule.endpoint}): {missing}")
            continue
        documented = PARAMETER.sub(r"{\1}", rule.rule)
        for owners in itertools.product((a, b), repeat=len(names)):
            if a not in owners:
                continue  # all of B's own ids: not a cross-tenant call
            values = {name: owner.ids[name] for name, owner in zip(names, owners)}
            ghosts = {name: str(uuid.uuid4()) if owner is a else values[name] for name, owner in zip(names, owners)}
            path = PARAMETER.sub(lambda match: values[match.group(1)], rule.rule)
            ghost_path = PARAMETER.sub(lambda match: ghosts[match.group(1)], rule.rule)
            replaced = tuple((values[n], ghosts[n]) for n, owner in zip(names, owners) if owner is a)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                calls.append(Call(method, path, ghost_path, documented, replaced))
    assert not unfillable, ("Routes with URL parameters this test cannot fill with tenant-A ids; add them to "
                            "the tenant fixtures or NOT_TENANT_RESOURCES:\n" + "\n".join(unfillable))
    return calls


def assert_nothing_visible(app, client: ApiClient, spec, a: Side, b: Side, expect_error) -> int:
    """Each cross-tenant call gets the very 404 an id that exists nowhere gets."""
    calls = cross_tenant_calls(app, a, b)
    for call in calls:
        send = getattr(client, call.method.lower())
        body = request_body(spec, call.documented, call.method, b.account.email)
        error = expect_error(send(call.path, json=body), 404, "NOT_FOUND")
        ghost_error = expect_error(send(call.ghost_path, json=body), 404, "NOT_FOUND")
        shown = json.dumps(error, sort_keys=True)
        for real, ghost in call.ghosts:
            shown = shown.replace(real, ghost)
        assert shown == json.dumps(ghost_error, sort_keys=True), (call, error, ghost_error)
    served = {(call.method, call.path) for call in calls}
    for path in {call.path for call in calls}:
        for method in CALLED_METHODS:
            if (method, path) not in served:
                response = getattr(client, method.lower())(path, json={})
                assert response.status_code in (404, 405), (method, path, response.json)
    return len(calls)


def test_tenant_b_gets_404_for_every_tenant_a_resource(app, client, tenant_a, tenant_b, app_repos,
                                                       expect_error):
    spec = client.get("/api/openapi.json").json
    before = tenant_state(app_repos, tenant_a.ids["tenant_id"])
    b_before = tenant_state(app_repos, tenant_b.ids["tenant_id"])

    count = assert_nothing_visible(app, tenant_b.client, spec, tenant_a, tenant_b, expect_error)

    assert count >= 10, "the URL map offered suspiciously few cross-tenant calls"
    assert tenant_state(app_repos, tenant_a.ids["tenant_id"]) == before
    assert tenant_state(app_repos, tenant_b.ids["tenant_id"]) == b_before
    assert tenant_a.key_client.get("/api/me").status_code == 200  # A's key still works


def test_tenant_bs_api_key_sees_nothing_of_tenant_a(app, client, tenant_a, tenant_b, app_repos, expect_error):
    spec = client.get("/api/openapi.json").json
    before = tenant_state(app_repos, tenant_a.ids["tenant_id"])

    assert_nothing_visible(app, tenant_b.key_client, spec, tenant_a, tenant_b, expect_error)

    assert tenant_state(app_repos, tenant_a.ids["tenant_id"]) == before


def test_tenant_a_reaches_its_own_resources_by_the_same_ids(tenant_a):
    """The ids used above are real: the owner of tenant A gets each of them."""
    ids = tenant_a.ids
    for path in (f"/api/tenants/{ids['tenant_id']}", f"/api/tenants/{ids['tenant_id']}/members",
                 f"/api/api-keys/{ids['key_id']}", f"/api/events/{ids['event_id']}",
                 f"/api/workflows/{ids['name']}", f"/api/workflows/{ids['name']}/versions/{ids['version']}",
                 f"/api/runs/{ids['run_id']}", f"/api/runs/{ids['run_id']}/lineage",
                 f"/api/runs/{ids['run_id']}/events?follow=false", f"/api/runs/{ids['run_id']}/artifacts",
                 f"/api/artifacts/{ids['artifact_id']}", f"/api/artifacts/{ids['artifact_id']}/content"):
        assert tenant_a.client.get(path).status_code == 200, path
    members = tenant_a.client.get(f"/api/tenants/{ids['tenant_id']}/members").json["data"]
    assert ids["membership_id"] in {m["id"] for m in members}
    selected = tenant_a.client.post(f"/api/runs/{ids['run_id']}/steps/{ids['step_key']}/select", json={"index": 0})
    assert selected.status_code == 200, selected.json


def test_tenant_a_ids_never_show_in_tenant_bs_lists(tenant_a, tenant_b):
    for client in (tenant_b.client, tenant_b.key_client):
        listed = " ".join(client.get(path).get_data(as_text=True)
                          for path in ("/api/tenants", "/api/api-keys", "/api/events?limit=100", "/api/me",
                                       "/api/workflows", "/api/runs?limit=100"))
        for name, value in tenant_a.ids.items():
            assert value not in listed, f"tenant A's {name} leaked into tenant B's lists"


@pytest.mark.parametrize("credential", ["token", "key"])
def test_x_tenant_id_cannot_enter_tenant_a(tenant_a, tenant_b, expect_error, credential):
    client = tenant_b.client if credential == "token" else tenant_b.key_client
    header = {"X-Tenant-ID": tenant_a.ids["tenant_id"]}

    for path in ("/api/me", "/api/api-keys", "/api/events", f"/api/events/{tenant_a.ids['event_id']}"):
        expect_error(client.get(path, headers=header), 403, "FORBIDDEN")
    expect_error(client.post("/api/api-keys", json={"name": "inside job"}, headers=header), 403, "FORBIDDEN")


def test_refusing_a_foreign_tenant_does_not_tell_whether_it_exists(tenant_a, tenant_b, expect_error):
    real = expect_error(tenant_b.client.get("/api/me", headers={"X-Tenant-ID": tenant_a.ids["tenant_id"]}),
                        403, "FORBIDDEN")
    made_up = str(uuid.uuid4())
    invented = expect_error(tenant_b.client.get("/api/me", headers={"X-Tenant-ID": made_up}), 403, "FORBIDDEN")

    assert real["message"] == invented["message"]
    assert tenant_b.client.get(f"/api/tenants/{made_up}").json["error"]["code"] == "NOT_FOUND"


def test_a_new_route_with_an_unknown_parameter_fails_the_guard(make_app, tenant_a, tenant_b):
    """A route added later (a plugin's, say) must declare how to fill its ids, or this suite fails."""
    grown = make_app()
    blp = EnvelopeBlueprint("widgets", __name__, url_prefix="/api/widgets")

    @blp.route("/<widget_id>")
    @blp.response(200)
    def get_widget(widget_id):
        return {}

    grown.extensions["inkwright"].api.register_blueprint(blp)

    with pytest.raises(AssertionError, match="widget_id"):
        cross_tenant_calls(grown, tenant_a, tenant_b)
