"""Recorded domain events over the JSON API (app/api/events.py)."""

from __future__ import annotations


import pytest


@pytest.fixture
def registered(client) -> dict:
    """A fresh registration through the API: its AuthResponse data."""
    response = client.post("/api/auth/register", json={"email": "ada@example.com", "password": "long enough password"})
    assert response.status_code == 201
    return response.json["data"]


@pytest.fixture
def as_registered(registered, bearer):
    return bearer(registered["session"]["token"])


def test_registration_records_its_events(registered, as_registered):
    page = as_registered.get("/api/events").json["data"]

    by_type = {event["type"]: event for event in page["items"]}
    assert set(by_type) == {"tenant.created", "user.registered", "user.logged_in"}
    assert page["total"] == 3
    user_id, tenant_id = registered["user"]["id"], registered["session"]["tenantId"]
    registration = by_type["user.registered"]
    assert registration["aggregateId"] == user_id
    assert registration["tenantId"] == tenant_id
    assert registration["actorUserId"] == user_id
    assert registration["payload"] == {"userId": user_id, "email": "ada@example.com"}
    assert registration["version"] == 1
    assert by_type["tenant.created"]["payload"]["tenantId"] == tenant_id


def test_key_creation_records_an_event(registered, as_registered, create_key):
    key = create_key(as_registered, name="deploy")

    page = as_registered.get("/api/events", query_string={"type": "api_key.created"}).json["data"]

    assert page["total"] == 1
    [event] = page["items"]
    assert event["aggregateId"] == key["id"]
    assert event["payload"] == {"apiKeyId": key["id"], "name": "deploy"}
    assert event["actorUserId"] == registered["user"]["id"]


def test_events_are_newest_first_and_paginated(as_registered, create_key):
    for number in range(3):
        create_key(as_registered, name=f"key {number}")

    first = as_registered.get("/api/events", query_string={"limit": 2}).json["data"]
    rest = as_registered.get("/api/events", query_string={"limit": 2, "offset": 2}).json["data"]
    everything = as_registered.get("/api/events", query_string={"limit": 100}).json["data"]

    assert (first["total"], first["limit"], first["offset"], len(first["items"])) == (6, 2, 0, 2)
    assert (rest["total"], rest["offset"], len(rest["items"])) == (6, 2, 2)
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in everything["items"][:4]]
    times = [e["occurredAt"] for e in everything["items"]]
    assert times == sorted(times, reverse=True)
    assert [e["payload"]["name"] for e in first["items"]] == ["key 2", "key 1"]


def test_the_default_page_is_20(as_registered):
    page = as_registered.get("/api/events").json["data"]

    assert (page["limit"], page["offset"]) == (20, 0)


def test_an_offset_past_the_end_is_an_empty_page(as_registered):
    page = as_registered.get("/api/events", query_string={"offset": 50}).json["data"]

    assert page["items"] == [] and page["total"] == 3


def test_type_filter_with_no_match_is_empty(as_registered):
    page = as_registered.get("/api/events", query_string={"type": "no.such.event"}).json["data"]

    assert page == {"items": [], "total": 0, "limit": 20, "offset": 0}


@pytest.mark.parametrize("query, field", [
    ({"limit": 0}, "query.limit"),
    ({"limit": 101}, "query.limit"),
    ({"limit": "many"}, "query.limit"),
    ({"offset": -1}, "query.offset"),
])
def test_bad_query_is_400_with_the_field(as_registered, expect_error, query, field):
    error = expect_error(as_registered.get("/api/events", query_string=query), 400, "VALIDATION_ERROR")

    assert field in error["details"]["fields"], error


def test_one_event_by_id(as_registered):
    listed = as_registered.get("/api/events").json["data"]["items"][0]

    response = as_registered.get(f"/api/events/{listed['id']}")

    assert response.status_code == 200
    assert response.json["data"] == listed


@pytest.mark.parametrize("event_id", ["6b0e2c1d-9f3a-4e57-8c2b-1d4f5a6e7b80", "not-a-uuid"])  # no event has that id
def test_unknown_event_is_404(as_registered, expect_error, event_id):
    expect_error(as_registered.get(f"/api/events/{event_id}"), 404, "NOT_FOUND")


def test_events_need_credentials(client, expect_error):
    expect_error(client.get("/api/events"), 401, "UNAUTHORIZED")


def test_a_viewer_reads_the_tenants_events(user, make_user, api_client, add_member, login_as):
    viewer = make_user()
    add_member(api_client, user.tenant_id, viewer, "viewer")

    page = login_as(viewer, user.tenant_id).get("/api/events", query_string={"type": "membership.created"})

    assert page.status_code == 200
    assert page.json["data"]["items"][0]["payload"] == {"userId": str(viewer.user.id), "role": "viewer"}
