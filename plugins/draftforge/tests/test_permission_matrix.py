"""Every DraftForge endpoint × every role, a removed and a pending collaborator, a member of the
tenant who collaborates on nothing, another tenant's person and nobody: each answers as the
role table (``access.ROLE_DEFAULTS``) and the endpoint's declared permission
(``endpoint_permissions.py``) say — allowed, 403 to someone who may read but not do it, the
project not found to someone who may not even read it, a sign-in asked of nobody.

The URL map is walked: an endpoint that declares nothing fails the test. Each endpoint with a
project in its path is tried on a project of its own, the refused first, then the allowed
(the owner last), so a change one makes cannot pass for another's refusal."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from inkwright_draftforge.access import PERMISSIONS, ROLE_DEFAULTS
from inkwright_draftforge.endpoint_permissions import ENDPOINT_PERMISSIONS, PUBLIC, SIGNED_IN, permission_for
from inkwright_draftforge.models import CollaboratorRole

pytestmark = pytest.mark.usefixtures("tenant_scope_guard")
CHAPTER = "chapters/01-arrival.md"
FILES = {CHAPTER: "# Arrival\n\nShe came home in the rain.\n", "chapters/02-storm.md": "# Storm\n\nWaves.\n"}
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
PREFIXES = ("draftforge.", "draftforge_api.", "draftforge_people_api.", "draftforge_invitations.",
            "draftforge_invitations_api.", "draftforge_github.")

#: A body each JSON endpoint with one accepts (so a refusal is the permission's, not the schema's).
BODIES: dict[str, dict[str, Any]] = {
    "draftforge_api.update_project": {"description": "A tale."},
    "draftforge_api.link_github": {"repoId": 4242, "repoName": "ada/lighthouse"},
    "draftforge_api.update_settings": {"githubActions": {"statsEnabled": True}},
    "draftforge_api.add_chapter": {"title": "A new chapter"},
    "draftforge_api.save_chapter": {"text": "# Arrival\n\nShe came home at dawn.\n"},
    "draftforge_api.reorder_chapters": {"paths": ["chapters/02-storm.md", CHAPTER]},
    "draftforge_people_api.invite_collaborator": {"invitee": "someone-new@example.com", "role": "viewer"},
    "draftforge_people_api.update_collaborator": {"role": "reviewer"},
}

@pytest.fixture
def inkwright_config(inkwright_config):
    # Nine people sign in twice for every endpoint: far past the studio's sign-in limit.
    return {**inkwright_config, "LOGIN_RATE_LIMIT": "100000/minute"}


PERSONAS = ("stranger", "anonymous", "pending", "removed", "member", "viewer", "reviewer", "editor", "owner")


def granted(persona: str) -> frozenset[str]:
    if persona == "owner":
        return frozenset(PERMISSIONS)
    if persona in ("editor", "reviewer", "viewer"):
        return ROLE_DEFAULTS[CollaboratorRole(persona)]
    if persona == "member":
        return frozenset({"can_read", "can_view_stats"})
    return frozenset()


def declared_endpoints(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every DraftForge route."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(PREFIXES):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, rule.rule))
    return found


def test_every_draftforge_endpoint_declares_the_permission_it_asks_for(app):
    undeclared = [(endpoint, method) for endpoint, method, _ in declared_endpoints(app)
                  if permission_for(endpoint, method) is None]
    assert not undeclared, f"endpoints that declare no permission in endpoint_permissions.py: {undeclared}"
    known = set(PERMISSIONS) | {SIGNED_IN, PUBLIC}
    assert {permission_for(e, m) for e, m, _ in declared_endpoints(app)} <= known


class Cast:
    """The people of one project, each with a JSON client and a signed-in browser."""

    def __init__(self, app, user, project_id: str, clients: dict[str, Any], browsers: dict[str, Any],
                 collaborator_id: str, run_id: str, head: str) -> None:
        self.app, self.user, self.project_id = app, user, project_id
        self.clients, self.browsers = clients, browsers
        self.collaborator_id, self.run_id, self.head = collaborator_id, run_id, head


@pytest.fixture
def cast(app, user, api_client, make_project, make_user, login_api):
    """``cast() -> Cast``: a fresh project with every persona around it."""

    def make() -> Cast:
        project_id = make_project(user, FILES, slug=f"book-{uuid.uuid4().hex[:8]}")
        people = f"/api/draftforge/projects/{project_id}/collaborators"
        accounts, clients = {"owner": user}, {"owner": api_client}
        rows = {}
        for persona in ("editor", "reviewer", "viewer", "removed"):
            account = make_user(name=persona.title())
            invited = api_client.post(people, json={"invitee": account.email,
                                                    "role": "editor" if persona == "removed" else persona})
            assert invited.status_code == 201, invited.json
            client = login_api(account)
            assert client.post("/api/invitations/accept",
                               json={"token": invited.json["data"]["invitationToken"]}).status_code == 200
            accounts[persona], clients[persona] = account, client
            rows[persona] = invited.json["data"]["collaborator"]["id"]
        assert api_client.delete(f"{people}/{rows['removed']}").status_code == 200
        pending = make_user(name="Pending")
        invited = api_client.post(people, json={"invitee": pending.email, "role": "editor"})
        accounts["pending"], clients["pending"] = pending, login_api(pending)
        member = make_user(name="Member")
        added = api_client.post(f"/api/tenants/{user.tenant_id}/members", json={"email": member.email,
                                                                               "role": "member"})
        assert added.status_code in (200, 201), added.json
        accounts["member"], clients["member"] = member, login_api(member)
        stranger = make_user(name="Stranger")
        accounts["stranger"], clients["stranger"] = stranger, login_api(stranger)
        run = api_client.post("/api/agent-runs", json={"subjectKind": "draftforge.project",
                                                      "subjectId": project_id, "agentType": "style"})
        assert run.status_code == 202, run.json
        head = api_client.get(f"/api/draftforge/projects/{project_id}/commits?limit=1").json["data"]["items"][0]["sha"]
        return Cast(app, user, project_id, clients, Browsers(app, accounts, user.tenant_id),
                    invited.json["data"]["collaborator"]["id"], run.json["data"]["id"], head)

    return make


class Browsers:
    """Each persona's signed-in browser, signed in when a page is first asked for (the JSON
    endpoints' cases need none)."""

    def __init__(self, app, accounts: dict[str, Any], tenant_id) -> None:
        self.app, self.accounts, self.tenant_id, self.signed_in = app, accounts, tenant_id, {}

    def get(self, persona: str) -> Any:
        if persona not in self.accounts:
            return None
        if persona not in self.signed_in:
            outside = persona in ("stranger", "pending")
            self.signed_in[persona] = browser_of(self.app, self.accounts[persona], None if outside else self.tenant_id)
        return self.signed_in[persona]


def browser_of(app, account, tenant_id):
    client = app.test_client()
    shown = client.get("/login")
    signed = client.post("/login", data={"email": account.email, "password": account.password,
                                         "csrf_token": CSRF_INPUT.search(shown.get_data(as_text=True)).group(1)})
    assert signed.status_code == 302
    if tenant_id is not None:
        with client.session_transaction() as session:
            session["tenant_id"] = str(tenant_id)  # as the tenant switcher leaves it
    return client


def url_of(rule: str, cast: Cast) -> str:
    values = {"project_id": cast.project_id, "path": CHAPTER, "sha": cast.head, "run_id": cast.run_id,
              "collaborator_id": cast.collaborator_id}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule)


def call(cast: Cast, persona: str, endpoint: str, method: str, url: str):
    if url.startswith("/api/"):
        client = cast.clients.get(persona)
        kwargs: dict[str, Any] = {}
        if endpoint in BODIES:
            kwargs["json"] = BODIES[endpoint]
        headers = {"X-Tenant-ID": str(cast.user.tenant_id)} if persona not in ("stranger", "pending") else {}
        if client is None:  # nobody
            return cast.app.test_client().open(url, method=method, **kwargs)
        return getattr(client, method.lower())(url, headers=headers, **kwargs)
    browser = cast.browsers.get(persona) or cast.app.test_client()
    if method == "GET":
        return browser.get(url)
    page = browser.get("/notifications") if persona != "anonymous" else browser.get("/login")
    token = CSRF_INPUT.search(page.get_data(as_text=True))
    return browser.open(url, method=method, data={"csrf_token": token.group(1) if token else ""})


def project_not_found(response, cast: Cast) -> bool:
    if response.status_code != 404:
        return False
    body = response.get_json(silent=True)
    if not body:
        return True  # a page: the project's 404
    details = (body.get("error") or {}).get("details") or {}
    return details.get("id") == cast.project_id


def outside_the_tenant(response) -> bool:
    body = response.get_json(silent=True) or {}
    return "tenantId" in ((body.get("error") or {}).get("details") or {})


def verdict(response, cast: Cast, persona: str, permission: str) -> str:
    status = response.status_code
    if persona == "anonymous":
        refused = status == 401 or (status == 302 and "/login" in response.headers.get("Location", "")) \
            or status == 400  # a page's form without a session's CSRF token
        return "ok" if refused else f"nobody got {status}"
    if permission in granted(persona):
        if status in (401, 403) or project_not_found(response, cast) or \
                (status == 302 and "/login" in response.headers.get("Location", "")):
            return f"allowed but got {status}"
        return "ok"
    expected = 403 if "can_read" in granted(persona) else 404
    if status == expected or (expected == 404 and project_not_found(response, cast)):
        return "ok"
    if expected == 404 and status == 403 and outside_the_tenant(response):
        return "ok"  # a removed guest's membership went with their last project: the tenant refuses
    return f"expected {expected}, got {status}"


def project_cases() -> list[tuple[str, str]]:
    """(endpoint, method) of every declared endpoint that asks for a seed permission: one test
    each, so the workers of a parallel run share them out."""
    cases = []
    for endpoint, declared in ENDPOINT_PERMISSIONS.items():
        by_method = declared if isinstance(declared, dict) else {"*": declared}
        cases.extend((endpoint, method) for method, permission in by_method.items() if permission in PERMISSIONS)
    return cases


@pytest.mark.parametrize(("endpoint", "method"), project_cases())
def test_each_endpoint_answers_each_persona_as_the_role_table_says(app, cast, endpoint, method):
    routes = [(m, rule) for e, m, rule in declared_endpoints(app)
              if e == endpoint and (method == "*" or m == method) and "<project_id>" in rule]
    assert routes, f"{endpoint} {method} is declared but not routed with a project"
    wrong = []
    for method_, rule in routes:
        permission = permission_for(endpoint, method_)
        if permission not in PERMISSIONS:
            continue
        scene = cast()
        if endpoint == "draftforge_api.restore_project":  # only a project in the trash is restored
            assert scene.clients["owner"].delete(f"/api/draftforge/projects/{scene.project_id}").status_code == 200
        url = url_of(rule, scene)
        refused_first = sorted(PERSONAS, key=lambda persona: (permission in granted(persona), persona == "owner"))
        for persona in refused_first:
            said = verdict(call(scene, persona, endpoint, method_, url), scene, persona, permission)
            if said != "ok":
                wrong.append(f"{method_} {rule} ({permission}) as {persona}: {said}")
    assert not wrong, "\n".join(wrong)


def test_signed_in_endpoints_ask_nobody_to_sign_in(app, client):
    for endpoint, method, rule in declared_endpoints(app):
        if permission_for(endpoint, method) != SIGNED_IN or "<" in rule:
            continue
        response = client.open(rule, method=method, json={} if rule.startswith("/api/") else None)
        assert response.status_code in (401, 302, 400), (endpoint, method, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
