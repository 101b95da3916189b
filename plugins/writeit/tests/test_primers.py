"""Style primers: seed 001's prompt format, the shipped ones, tenant overrides, CRUD and bad input."""

from __future__ import annotations

from inkwright_writeit.models import PrimerRecord
from inkwright_writeit.primers import StylePrimer, shipped_primers

PRIMER = {
    "primerId": "house-style",
    "name": "House Style",
    "description": "How our newsletter sounds.",
    "content": "Short sentences. One idea per paragraph.",
    "voiceAttributes": {"tone": "dry", "structure": "claim-then-proof"},
    "exampleOpenings": ["Nobody reads the manual.", "Here is the number that matters.", "A third one."],
    "guidelines": {"avoid": ["exclamation marks", "buzzwords"], "prefer": ["numbers"]},
}


def test_format_for_prompt_follows_seed_001():
    primer = StylePrimer(primer_id="p", name="Plain", description="", content="Be plain.",
                         voice_attributes={"tone": "calm", "pace": "slow"},
                         example_openings=["One.", "Two.", "Three."],
                         guidelines={"avoid": ["jargon", "hype"], "prefer": ["verbs"]})

    assert primer.format_for_prompt() == (
        "WRITING STYLE GUIDE: Plain\n\nBe plain.\n\nTone: calm\nPace: slow\n"
        "\nExample openings:\n- One.\n- Two.\n"          # two examples at most
        "\nAvoid: jargon, hype\nPrefer: verbs\n")


def test_a_primer_without_openings_or_guidelines_leaves_those_parts_out():
    text = StylePrimer(primer_id="p", name="Bare", description="", content="Just this.").format_for_prompt()
    assert text == "WRITING STYLE GUIDE: Bare\n\nJust this.\n\n"


def test_shipped_primers_load_and_every_tenant_sees_them(api_client):
    shipped = shipped_primers()
    assert {"tech-journalist", "plain-explainer", "essayist"} <= set(shipped)
    assert shipped["tech-journalist"].name == "Technical Journalist"
    assert "Tone: confident" in shipped["tech-journalist"].format_for_prompt()

    response = api_client.get("/api/writeit/primers")
    assert response.status_code == 200
    listed = {p["primerId"]: p for p in response.json["data"]}
    assert listed["tech-journalist"]["shipped"] is True
    assert listed["tech-journalist"]["prompt"].startswith("WRITING STYLE GUIDE: Technical Journalist")


def test_create_read_update_delete_a_tenant_primer(api_client, row_count):
    created = api_client.post("/api/writeit/primers", json=PRIMER)
    assert created.status_code == 201, created.json
    assert created.json["data"]["shipped"] is False
    assert "Avoid: exclamation marks, buzzwords" in created.json["data"]["prompt"]

    read = api_client.get("/api/writeit/primers/house-style").json["data"]
    assert read["voiceAttributes"] == {"tone": "dry", "structure": "claim-then-proof"}

    changed = api_client.patch("/api/writeit/primers/house-style", json={"content": "Longer sentences now."})
    assert changed.status_code == 200, changed.json
    assert changed.json["data"]["content"] == "Longer sentences now."
    assert changed.json["data"]["name"] == "House Style"

    assert api_client.delete("/api/writeit/primers/house-style").status_code == 204
    assert api_client.get("/api/writeit/primers/house-style").status_code == 404
    assert row_count(PrimerRecord) == 0


def test_a_tenant_primer_overrides_the_shipped_one_only_for_that_tenant(api_client, make_user, login_api):
    own = {**PRIMER, "primerId": "tech-journalist", "name": "Our Tech Voice"}
    assert api_client.post("/api/writeit/primers", json=own).status_code == 201

    mine = {p["primerId"]: p for p in api_client.get("/api/writeit/primers").json["data"]}
    assert mine["tech-journalist"]["name"] == "Our Tech Voice"
    assert mine["tech-journalist"]["shipped"] is False

    other = login_api(make_user())
    theirs = {p["primerId"]: p for p in other.get("/api/writeit/primers").json["data"]}
    assert theirs["tech-journalist"]["name"] == "Technical Journalist"

    # Deleting the override shows the shipped primer again; the shipped one cannot be deleted.
    assert api_client.delete("/api/writeit/primers/tech-journalist").status_code == 204
    assert api_client.get("/api/writeit/primers/tech-journalist").json["data"]["shipped"] is True
    refused = api_client.delete("/api/writeit/primers/tech-journalist")
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "CONFLICT"


def test_editing_a_shipped_primer_makes_the_tenants_copy(api_client, row_count):
    response = api_client.put("/api/writeit/primers/essayist", json={"name": "Our Essayist"})
    assert response.status_code == 200, response.json
    assert response.json["data"]["shipped"] is False
    assert response.json["data"]["content"] == shipped_primers()["essayist"].content
    assert row_count(PrimerRecord) == 1


def test_bad_primers_are_refused_with_field_errors_and_nothing_written(api_client, row_count):
    cases = [
        ({**PRIMER, "name": ""}, "name"),
        ({key: value for key, value in PRIMER.items() if key != "content"}, "content"),
        ({**PRIMER, "primerId": "Not An Id!"}, "primerId"),
        ({**PRIMER, "guidelines": {"always": ["x"]}}, "guidelines"),
        ({**PRIMER, "exampleOpenings": "not a list"}, "exampleOpenings"),
        ({**PRIMER, "colour": "blue"}, "colour"),
    ]
    for body, field in cases:
        response = api_client.post("/api/writeit/primers", json=body)
        assert response.status_code == 400, (field, response.json)
        assert response.json["error"]["code"] == "VALIDATION_ERROR"
        assert field in response.json["error"]["details"]["fields"], (field, response.json["error"])
    assert row_count(PrimerRecord) == 0

    assert api_client.post("/api/writeit/primers", json=PRIMER).status_code == 201
    duplicate = api_client.post("/api/writeit/primers", json=PRIMER)
    assert duplicate.status_code == 409
    assert row_count(PrimerRecord) == 1
    assert api_client.patch("/api/writeit/primers/no-such-primer", json={"name": "x"}).status_code == 404
    empty = api_client.patch("/api/writeit/primers/house-style", json={})
    assert empty.status_code == 400 and empty.json["error"]["code"] == "VALIDATION_ERROR"
    renamed = api_client.patch("/api/writeit/primers/house-style", json={"primerId": "other"})
    assert renamed.status_code == 400  # the id names the primer; it is not changed


def test_another_tenants_primer_is_not_found(api_client, make_user, login_api):
    assert api_client.post("/api/writeit/primers", json=PRIMER).status_code == 201
    other = login_api(make_user())
    assert other.get("/api/writeit/primers/house-style").status_code == 404
    assert other.patch("/api/writeit/primers/house-style", json={"name": "Mine now"}).status_code == 404
    assert other.delete("/api/writeit/primers/house-style").status_code == 404
    assert api_client.get("/api/writeit/primers/house-style").json["data"]["name"] == "House Style"


def test_the_document_names_the_keys_a_primer_accepts(api_client):
    # Issue 11's fuzz gate: {"guidelines": {"other": [...]}} and an empty voice attribute were
    # valid by the document and refused by the API; the document now says what is refused.
    schemas = api_client.get("/api/openapi.json").json["components"]["schemas"]
    for name in ("StylePrimer", "StylePrimerUpdate"):
        properties = schemas[name]["properties"]
        assert properties["guidelines"]["propertyNames"] == {"enum": ["avoid", "prefer"]}
        # The same in the words every generator reads: those keys and no other.
        assert set(properties["guidelines"]["properties"]) == {"avoid", "prefer"}
        assert properties["guidelines"]["additionalProperties"] is False
        assert properties["voiceAttributes"]["propertyNames"] == {"minLength": 1, "maxLength": 50,
                                                                  "pattern": "^[\\s\\S]{1,50}$"}
        assert properties["voiceAttributes"]["maxProperties"] == 20 and "maxLength" not in properties["voiceAttributes"]
    for bad in ({"guidelines": {"other": ["x"]}}, {"voiceAttributes": {"": "x"}}):
        response = api_client.post("/api/writeit/primers", json={**PRIMER, **bad})
        assert response.status_code == 400 and response.json["error"]["code"] == "VALIDATION_ERROR", bad


def test_an_empty_primer_update_is_refused_as_the_document_says(api_client):
    update = api_client.get("/api/openapi.json").json["components"]["schemas"]["StylePrimerUpdate"]
    assert update["minProperties"] == 1
    response = api_client.patch("/api/writeit/primers/essayist", json={})
    assert response.status_code == 400 and response.json["error"]["code"] == "VALIDATION_ERROR"


def test_a_writer_that_loses_the_race_for_a_primer_is_told_409_not_500(api_client, row_count, monkeypatch):
    # Two requests editing the same shipped primer both look, find no copy, and add one: the
    # second add meets the unique (tenant, primer id). Looking is made to miss here, as it
    # does for the second of two requests that looked at the same moment (the fuzz gate's).
    from inkwright_writeit.repositories import PrimerRepository

    monkeypatch.setattr(PrimerRepository, "by_primer_id", lambda self, primer_id: None)
    first = api_client.patch("/api/writeit/primers/essayist", json={"content": "Mine now."})
    assert first.status_code == 200, first.json

    second = api_client.patch("/api/writeit/primers/essayist", json={"content": "No, mine."})

    assert second.status_code == 409, second.json
    assert second.json["error"]["code"] == "CONFLICT"
    assert second.json["error"]["retryable"] is True
    assert row_count(PrimerRecord) == 1
