"""The audit log (issue 14): every listed action writes exactly one entry, with its actor,
tenant, entity, client address and user agent and no secret; ``GET /api/audit-log`` shows a
tenant's owners and admins their tenant's log, platform administrators every tenant's, and
refuses everyone and everything else with the envelope's errors.

Requests come "through a proxy" (``TRUSTED_PROXIES=1`` and an ``X-Forwarded-For``), so each
entry's address proves the configured proxy is honoured.
"""

from __future__ import annotations

import json
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLogEntry
from app.pytest_plugin import Account, ApiClient

CLIENT_IP = "203.0.113.7"
AGENT = "audit-probe/1.0 (+https://example.test)"
THROUGH_PROXY = {"User-Agent": AGENT, "X-Forwarded-For": f"198.51.100.99, {CLIENT_IP}"}
PROVIDER_SECRET = "sk-live-provider-secret-0123456789abcdef"
NEW_PASSWORD = "an entirely new password"
RESET_LINK = re.compile(r"/reset-password/(iwp_\S+)")

ONE_STEP = 'name: audited.one\nversion: "1"\nsteps:\n  - id: only\n    skill: test.echo\n    with: {text: hello}\n'
FAILING = ('name: audited.failing\nversion: "1"\nsteps:\n  - id: only\n    skill: test.echo\n'
           '    with: {text: hello, fail_until_execution: 2}\n')


@pytest.fixture
def inkwright_config(inkwright_config: dict[str, Any]) -> dict[str, Any]:
    return {**inkwright_config, "TRUSTED_PROXIES": 1}


def entries(app: Flask, action: str | None = None) -> list[AuditLogEntry]:
    """Every entry (of one action), oldest first, past any scope."""
    with app.app_context():
        statement = select(AuditLogEntry).order_by(AuditLogEntry.created_at)
        if action is not None:
            statement = statement.where(AuditLogEntry.action == action)
        found = list(db.session.scalars(statement))
        db.session.expunge_all()
        return found


@dataclass
class World:
    """An owner signed in through the proxy, a colleague to add, and what a case needs."""

    app: Flask
    owner: Account
    client: ApiClient
    colleague: Account
    login_as: Callable[[Account], ApiClient]
    run_jobs: Callable[..., int]
    found: list[AuditLogEntry] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    @contextmanager
    def acting(self, action: str) -> Iterator[None]:
        """The block is the action: the entries of ``action`` it added land in ``found``."""
        before = {entry.id for entry in entries(self.app, action)}
        yield
        self.found = [entry for entry in entries(self.app, action) if entry.id not in before]

    def post(self, path: str, **kwargs: Any):
        return self.client.post(path, headers=THROUGH_PROXY, **kwargs)

    def ok(self, response, status: int = 200) -> dict:
        assert response.status_code == status, response.get_data(as_text=True)
        return response.json["data"] if response.is_json else {}


@pytest.fixture
def world(app, make_user, login_as, run_jobs) -> World:
    owner = make_user(name="Olive Owner")
    return World(app, owner, login_as(owner), make_user(name="Colin Colleague"), login_as, run_jobs)


def _login(w: World, password: str | None = None):
    return w.app.test_client().post("/api/auth/login", headers=THROUGH_PROXY,
                                    json={"email": w.owner.email, "password": password or w.owner.password})


# One function per action: it prepares what the action needs, then does it inside
# ``w.acting(...)``, and returns what the entry must say (entity type and id; the actor and
# tenant are the owner's unless it says otherwise).
def register(w: World) -> dict:
    email = f"newcomer-{uuid.uuid4().hex[:6]}@example.com"
    w.secrets.append("newcomer's long password")
    with w.acting("auth.register"):
        body = w.ok(w.app.test_client().post("/api/auth/register", headers=THROUGH_PROXY, json={
            "email": email, "password": "newcomer's long password", "name": "Newcomer"}), 201)
    user_id = body["user"]["id"]
    return {"entity": ("user", user_id), "actor": user_id, "tenant": body["session"]["tenantId"]}


def login(w: World) -> dict:
    w.secrets.append(w.owner.password)
    with w.acting("auth.login"):
        w.ok(_login(w))
    return {"entity": ("user", str(w.owner.user.id))}


def login_failed(w: World) -> dict:
    w.secrets.append("a wrong guess at it")
    with w.acting("auth.login_failed"):
        assert _login(w, "a wrong guess at it").status_code == 401
    return {"entity": ("user", str(w.owner.user.id)), "metadata": {"email": w.owner.email}}


def logout(w: World) -> dict:
    token = w.ok(_login(w))["session"]["token"]
    session = ApiClient(w.app.test_client(), token)
    with w.acting("auth.logout"):
        w.ok(session.post("/api/auth/logout", headers=THROUGH_PROXY))
    return {"entity_type": "auth_session"}


def password_reset(w: World) -> dict:
    w.ok(w.app.test_client().post("/api/auth/password-reset", json={"email": w.owner.email}), 202)
    with w.app.app_context():
        from app.runtime import repositories
        token = RESET_LINK.search(repositories().outbox.latest_to(w.owner.email, "password_reset").body).group(1)
    w.secrets += [token, NEW_PASSWORD]
    with w.acting("auth.password_reset"):
        w.ok(w.app.test_client().post("/api/auth/password-reset/confirm", headers=THROUGH_PROXY,
                                      json={"token": token, "password": NEW_PASSWORD}))
    return {"entity": ("user", str(w.owner.user.id)), "changes": {"password": {"before": "********",
                                                                              "after": "********"}}}


def api_key_create(w: World) -> dict:
    with w.acting("api_key.create"):
        key = w.ok(w.post("/api/api-keys", json={"name": "ci runner"}), 201)
    w.secrets.append(key["secret"])
    return {"entity": ("api_key", key["id"]), "metadata": {"name": "ci runner", "role": "member"}}


def api_key_revoke(w: World) -> dict:
    key = w.ok(w.client.post("/api/api-keys", json={"name": "old runner"}), 201)
    w.secrets.append(key["secret"])
    with w.acting("api_key.revoke"):
        w.ok(w.client.delete(f"/api/api-keys/{key['id']}", headers=THROUGH_PROXY))
    return {"entity": ("api_key", key["id"]), "changes": {"status": {"before": "active", "after": "revoked"}}}


def _members(w: World) -> str:
    return f"/api/tenants/{w.owner.tenant_id}/members"


def member_add(w: World) -> dict:
    with w.acting("member.add"):
        membership = w.ok(w.post(_members(w), json={"email": w.colleague.email, "role": "member"}), 201)
    return {"entity": ("membership", membership["id"]), "metadata": {"role": "member"}}


def member_role_change(w: World) -> dict:
    membership = w.ok(w.client.post(_members(w), json={"email": w.colleague.email, "role": "member"}), 201)
    with w.acting("member.role_change"):
        w.ok(w.client.patch(f"{_members(w)}/{membership['id']}", json={"role": "admin"}, headers=THROUGH_PROXY))
    return {"entity": ("membership", membership["id"]), "changes": {"role": {"before": "member", "after": "admin"}}}


def member_remove(w: World) -> dict:
    membership = w.ok(w.client.post(_members(w), json={"email": w.colleague.email, "role": "viewer"}), 201)
    with w.acting("member.remove"):
        w.ok(w.client.delete(f"{_members(w)}/{membership['id']}", headers=THROUGH_PROXY))
    return {"entity": ("membership", membership["id"])}


def provider_key_add(w: World) -> dict:
    w.secrets.append(PROVIDER_SECRET)
    with w.acting("provider_key.add"):
        key = w.ok(w.post("/api/account/provider-keys", json={"provider": "openai", "key": PROVIDER_SECRET}), 201)
    return {"entity": ("provider_key", key["id"]), "metadata": {"provider": "openai", "owner": "user"}}


def provider_key_revoke(w: World) -> dict:
    w.secrets.append(PROVIDER_SECRET)
    key = w.ok(w.client.post("/api/tenant/provider-keys", json={"provider": "openai", "key": PROVIDER_SECRET}), 201)
    with w.acting("provider_key.revoke"):
        w.ok(w.client.delete(f"/api/tenant/provider-keys/{key['id']}", headers=THROUGH_PROXY))
    return {"entity": ("provider_key", key["id"]), "metadata": {"owner": "tenant"}}


def settings_update(w: World) -> dict:
    with w.acting("settings.update"):
        w.ok(w.client.patch("/api/account/preferences", json={"theme": "dark"}, headers=THROUGH_PROXY))
    return {"entity": ("user", str(w.owner.user.id)), "changes": {"theme": {"before": None, "after": "dark"}}}


def workflow_upload(w: World) -> dict:
    with w.acting("workflow.upload"):
        w.ok(w.post("/api/workflows", data=ONE_STEP, content_type="application/yaml"), 201)
    return {"entity_type": "workflow_version", "metadata": {"name": "audited.one", "version": "1"}}


def _start(w: World, source: str, name: str, headers: dict | None = None) -> dict:
    w.ok(w.client.post("/api/workflows", data=source, content_type="application/yaml"), 201)
    return w.ok(w.client.post("/api/runs", json={"workflow": name, "inputs": {}}, headers=headers), 202)


def run_start(w: World) -> dict:
    with w.acting("run.start"):
        run = _start(w, ONE_STEP, "audited.one", THROUGH_PROXY)
    return {"entity": ("run", run["id"]), "metadata": {"workflow": "audited.one", "trigger": "initial"}}


def run_cancel(w: World) -> dict:
    run = _start(w, ONE_STEP, "audited.one")  # no worker runs it: it is still going
    with w.acting("run.cancel"):
        w.ok(w.post(f"/api/runs/{run['id']}/cancel"))
    return {"entity": ("run", run["id"]), "changes": {"status": {"after": "cancelled"}}}


def run_retry(w: World) -> dict:
    run = _start(w, FAILING, "audited.failing")
    w.run_jobs()
    assert w.ok(w.client.get(f"/api/runs/{run['id']}"))["status"] == "failed"
    with w.acting("run.retry"):
        w.ok(w.post(f"/api/runs/{run['id']}/retry"))
    return {"entity": ("run", run["id"]), "changes": {"status": {"before": "failed", "after": "running"}}}


ACTIONS = [register, login, login_failed, logout, password_reset, api_key_create, api_key_revoke, member_add,
           member_role_change, member_remove, provider_key_add, provider_key_revoke, settings_update,
           workflow_upload, run_start, run_cancel, run_retry]
# The first-party plugins' actions (an article's export, a primer's or a story's deletion) are
# tested the same way in their own suites: plugins/*/tests/test_audit.py.


def _subset(expected: dict, actual: dict | None) -> bool:
    return all(key in (actual or {}) and (_subset(value, actual[key]) if isinstance(value, dict)
                                          else actual[key] == value) for key, value in expected.items())


@pytest.mark.parametrize("case", ACTIONS, ids=[case.__name__ for case in ACTIONS])
def test_every_listed_action_writes_exactly_one_entry_with_who_where_and_no_secret(world, case):
    expected = case(world)

    assert len(world.found) == 1, [(e.action, e.entity_id) for e in world.found]
    [entry] = world.found
    assert str(entry.user_id) == str(expected.get("actor", world.owner.user.id))
    assert str(entry.tenant_id) == str(expected.get("tenant", world.owner.tenant_id))
    entity_type, entity_id = expected.get("entity", (expected.get("entity_type"), None))
    assert entry.entity_type == entity_type
    assert entry.entity_id is not None and (entity_id is None or entry.entity_id == str(entity_id))
    # The proxy's client, not the proxy, and not what the client claimed further left.
    assert entry.ip_address == CLIENT_IP
    assert entry.user_agent == AGENT
    assert _subset(expected.get("changes", {}), entry.changes), entry.changes
    assert _subset(expected.get("metadata", {}), entry.details), entry.details
    stored = json.dumps([entry.changes, entry.details])
    for secret in world.secrets:
        assert secret not in stored


def test_an_api_keys_entries_say_it_was_the_key_and_which(world, create_key, bearer):
    key = create_key(world.client, name="script", role="admin")
    script = bearer(key["secret"])
    with world.acting("api_key.create"):
        assert script.post("/api/api-keys", json={"name": "made by a script"}).status_code == 201
    [entry] = world.found
    assert entry.details["via"] == "api_key" and entry.details["api_key_id"] == key["id"]
    assert str(entry.user_id) == str(world.owner.user.id)  # the person who made the key


def test_a_refused_change_writes_no_entry(world, expect_error):
    key = world.ok(world.client.post("/api/api-keys", json={"name": "once"}), 201)
    world.ok(world.client.delete(f"/api/api-keys/{key['id']}"))
    with world.acting("api_key.revoke"):
        expect_error(world.client.delete(f"/api/api-keys/{key['id']}"), 409, "ILLEGAL_TRANSITION")
    with world.acting("member.add"):
        expect_error(world.client.post(_members(world), json={"email": "nobody@example.com", "role": "member"}),
                     404, "NOT_FOUND")
    assert world.found == []
    assert len(entries(world.app, "api_key.revoke")) == 1


def test_without_trusted_proxies_a_forwarded_address_is_not_believed(make_app, make_user):
    studio = make_app(TRUSTED_PROXIES=0)
    owner = make_user()
    response = studio.test_client().post("/api/auth/login", headers=THROUGH_PROXY,
                                         json={"email": owner.email, "password": owner.password})
    assert response.status_code == 200
    [entry] = entries(studio, "auth.login")
    assert entry.ip_address == "127.0.0.1"


# Reading the log -------------------------------------------------------------------------
def read(client: ApiClient, **query: Any):
    return client.get("/api/audit-log", query_string=query)


def test_owners_read_their_tenants_log_newest_first_with_filters_and_pages(world, assert_documented):
    world.ok(world.client.post("/api/api-keys", json={"name": "one"}), 201)
    second = world.ok(world.client.post("/api/api-keys", json={"name": "two"}), 201)
    world.ok(world.client.patch("/api/account/preferences", json={"theme": "dark"}))

    response = read(world.client)
    assert_documented(response, "GET", "/api/audit-log")
    page = world.ok(response)
    actions = [item["action"] for item in page["items"]]
    assert actions[:3] == ["settings.update", "api_key.create", "api_key.create"]
    assert page["total"] == len(actions) and page["limit"] == 20 and page["offset"] == 0
    first = page["items"][0]
    assert set(first) == {"id", "createdAt", "tenantId", "userId", "action", "entityType", "entityId", "ipAddress",
                          "userAgent", "changes", "metadata"}

    keys = world.ok(read(world.client, action="api_key.create"))
    assert keys["total"] == 2
    assert world.ok(read(world.client, entityType="api_key", entityId=second["id"]))["total"] == 1
    assert world.ok(read(world.client, userId=str(world.owner.user.id)))["total"] == page["total"]
    assert world.ok(read(world.client, userId=str(uuid.uuid4())))["total"] == 0
    paged = world.ok(read(world.client, action="api_key.create", limit=1, offset=1))
    assert [item["entityId"] for item in paged["items"]] != [keys["items"][0]["entityId"]]
    today = first["createdAt"][:10]
    assert world.ok(read(world.client, **{"from": today, "to": today}))["total"] == page["total"]
    assert world.ok(read(world.client, **{"to": "2000-01-01"}))["total"] == 0


def test_an_admin_reads_the_log_and_a_member_or_viewer_cannot(world, make_user, add_member, login_as,
                                                              expect_error):
    admin, member, viewer = make_user(), make_user(), make_user()
    for account, role in ((admin, "admin"), (member, "member"), (viewer, "viewer")):
        add_member(world.client, world.owner.tenant_id, account, role)

    adds = world.ok(read(login_as(admin, world.owner.tenant_id), action="member.add"))
    assert adds["total"] == 3
    for account in (member, viewer):
        error = expect_error(read(login_as(account, world.owner.tenant_id)), 403, "FORBIDDEN")
        assert error["details"]["resource"] == "audit_log"


def test_another_tenants_log_is_not_found_and_never_mixed_in(world, make_user, login_as, expect_error):
    stranger = make_user(name="Stan Stranger")
    theirs = login_as(stranger)
    world.ok(theirs.post("/api/api-keys", json={"name": "stranger's"}), 201)

    expect_error(read(world.client, tenantId=str(stranger.tenant_id)), 404, "NOT_FOUND")
    mine = world.ok(read(world.client, limit=100))
    assert {item["tenantId"] for item in mine["items"]} == {str(world.owner.tenant_id)}
    assert world.ok(read(world.client, userId=str(stranger.user.id)))["total"] == 0


def test_an_api_key_of_a_platform_administrator_reads_only_its_tenant(make_user, login_as, create_key, bearer):
    admin = make_user(platform_admin=True)
    other = make_user()
    login_as(other)  # an entry in another tenant
    key = bearer(create_key(login_as(admin), name="admin's script", role="owner")["secret"])
    found = key.get("/api/audit-log", query_string={"limit": 100}).json["data"]
    assert {item["tenantId"] for item in found["items"]} == {str(admin.tenant_id)}


def test_a_platform_administrator_reads_every_tenants_log(make_user, login_as, app):
    admin = make_user(platform_admin=True)
    first, second = make_user(), make_user()
    login_as(first), login_as(second)
    client = login_as(admin)
    everything = client.get("/api/audit-log", query_string={"action": "auth.login", "limit": 100}).json["data"]
    assert {str(first.tenant_id), str(second.tenant_id), str(admin.tenant_id)} <= \
        {item["tenantId"] for item in everything["items"]}
    one = client.get("/api/audit-log", query_string={"tenantId": str(first.tenant_id)}).json["data"]
    assert {item["tenantId"] for item in one["items"]} == {str(first.tenant_id)}
    # A failed sign-in with an email nobody has belongs to no tenant: only here is it seen.
    app.test_client().post("/api/auth/login", json={"email": "ghost@example.com", "password": "whatever it is"})
    ghosts = client.get("/api/audit-log", query_string={"action": "auth.login_failed"}).json["data"]["items"]
    assert [(item["tenantId"], item["userId"], item["metadata"]["email"]) for item in ghosts] == \
        [(None, None, "ghost@example.com")]


@pytest.mark.parametrize("query, field", [
    ({"from": "yesterday"}, "from"), ({"to": "2026-13-40"}, "to"), ({"from": "2026-12-05", "to": "2026-12-01"}, "to"),
    ({"userId": "not-a-uuid"}, "userId"), ({"tenantId": "1; DROP TABLE audit_log"}, "tenantId"),
    ({"limit": "100000"}, "limit"), ({"limit": "0"}, "limit"), ({"offset": "-1"}, "offset"),
    ({"offset": str(2**70)}, "offset"), ({"action": "x" * 101}, "action"),
    ({"action": "auth.login\x00"}, "action"), ({"entityId": "a\nb"}, "entityId"), ({"entityType": "run\n"}, "entityType"),
])
def test_bad_filters_get_the_envelopes_validation_error(world, expect_error, query, field):
    error = expect_error(read(world.client, **query), 400, "VALIDATION_ERROR")
    assert any(key.endswith(field) for key in error["details"]["fields"]), error


def test_the_log_cannot_be_written_changed_or_deleted_through_the_api(world):
    for method in ("post", "put", "patch", "delete"):
        response = getattr(world.client, method)("/api/audit-log", json={})
        assert response.status_code == 405 and response.json["success"] is False


def test_the_log_is_documented(client):
    document = client.get("/api/openapi.json").json
    operation = document["paths"]["/api/audit-log"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"userId", "action", "entityType", "entityId", "from", "to", "tenantId", "limit", "offset"} <= names
    assert set(document["paths"]["/api/audit-log"]) == {"get"}
