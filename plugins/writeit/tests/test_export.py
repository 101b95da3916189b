"""Exports: the article as Markdown, a run of it as seed 001's YAML; refusals."""

from __future__ import annotations

import re
import uuid

import yaml
from inkwright_writeit.models import Article
from sqlalchemy import update

from app.extensions import db

TOPIC = "Shipping small changes every day"


def finished_article(api_client, pick, run_jobs, topic: str = TOPIC) -> dict:
    article = api_client.post("/api/writeit/articles", json={"topic": topic}).json["data"]
    run_id = article["currentRunId"]
    pick(run_id, "angles", 0, "More numbers")
    pick(run_id, "outline", 1, "Shorter headings")
    pick(run_id, "draft", 0, None)
    pick(run_id, "polish", 1, "Good")
    run_jobs()
    return api_client.get(f"/api/writeit/articles/{article['id']}").json["data"]


def test_markdown_export_has_the_title_and_the_sections(api_client, pick, run_jobs):
    article = finished_article(api_client, pick, run_jobs)
    exported = api_client.get(f"/api/writeit/articles/{article['id']}/export?format=markdown")
    assert exported.status_code == 200, exported.json
    data = exported.json["data"]
    assert data["format"] == "markdown" and data["filename"].endswith(".md")
    lines = data["content"].splitlines()
    assert lines[0] == f"# {article['title']}"
    assert sum(1 for line in lines if line.startswith("## ")) >= 2
    assert data["content"] == article["finalMarkdown"]


def test_yaml_export_follows_seed_001s_pipeline_run(api_client, pick, run_jobs):
    article = finished_article(api_client, pick, run_jobs)
    exported = api_client.get(f"/api/writeit/articles/{article['id']}/export?format=yaml").json["data"]
    assert exported["filename"].endswith(".yaml")
    record = yaml.safe_load(exported["content"])
    assert record["pipeline_run_id"] == article["currentRunId"]
    assert record["configuration_id"] == "writeit.article"
    assert record["status"] == "completed" and record["current_step"] == "polish"
    assert record["user_inputs"]["topic"] == TOPIC and "style_guide" not in record["user_inputs"]
    assert list(record["steps"]) == ["angles", "outline", "draft", "polish"]
    outline = record["steps"]["outline"]
    assert outline["user_selection"] == 1 and outline["user_feedback"] == "Shorter headings"
    assert outline["merged_content"] == outline["candidates"][1]["text"]
    assert {c["model"] for c in outline["candidates"]} == {"offline:writer", "offline:fast"}
    response = outline["ai_responses"][0]
    assert "More numbers" in response["prompt_used"]
    assert response["usage_stats"]["total_tokens"] > 0 and response["offline"] is True
    assert outline["started_at"] and outline["completed_at"] and outline["duration_ms"] is not None
    assert record["steps"]["polish"]["user_feedback"] == "Good"


def test_yaml_of_an_unfinished_run_works_but_markdown_waits(api_client, run_jobs):
    article = api_client.post("/api/writeit/articles", json={"topic": TOPIC}).json["data"]
    run_jobs()
    early = api_client.get(f"/api/writeit/articles/{article['id']}/export?format=markdown")
    assert early.status_code == 409 and early.json["error"]["code"] == "CONFLICT"
    record = yaml.safe_load(api_client.get(f"/api/writeit/articles/{article['id']}/export?format=yaml")
                            .json["data"]["content"])
    assert record["current_step"] == "angles" and record["status"] == "paused"
    assert record["steps"]["angles"]["status"] == "awaiting_selection"


def test_bad_exports_are_refused(api_client, make_user, login_api):
    article = api_client.post("/api/writeit/articles", json={"topic": TOPIC}).json["data"]
    unknown = api_client.get(f"/api/writeit/articles/{article['id']}/export?format=docx")
    assert unknown.status_code == 400
    assert unknown.json["error"]["details"]["fields"] == {"query.format": ["Must be one of: markdown, html, yaml."]}
    assert api_client.get(f"/api/writeit/articles/{article['id']}/export?format=yaml&runId=nope").status_code == 400
    other = login_api(make_user())
    assert other.get(f"/api/writeit/articles/{article['id']}/export?format=yaml").status_code == 404


PAYLOAD = "Shipping <img src=x onerror=alert(1)> daily <script>alert(2)</script>"


def test_markup_in_the_articles_text_is_text_in_the_markdown_export_and_on_the_page(app, api_client, browser, pick,
                                                                                    run_jobs):
    """The offline model does not echo markup, a real one may (or a topic it quotes): the
    finished text is given some, as a model's answer would carry it."""
    article = finished_article(api_client, pick, run_jobs, topic=PAYLOAD)
    with app.app_context():
        db.session.execute(update(Article).where(Article.id == uuid.UUID(article["id"]))
                           .values(final_markdown=f"# {PAYLOAD}\n\n## Section\n\nBody {PAYLOAD}\n"))
        db.session.commit()

    content = api_client.get(f"/api/writeit/articles/{article['id']}/export?format=markdown").json["data"]["content"]
    assert "&lt;img src=x" in content and "&lt;script>alert(2)" in content
    assert "<img" not in content and "<script" not in content  # so no renderer runs it
    assert content.startswith("# Shipping") and "\n## Section\n" in content

    exported = api_client.get(f"/api/writeit/articles/{article['id']}/export?format=html").json["data"]
    assert exported["filename"].endswith(".html")
    html = exported["content"]
    assert "<h1>Shipping &lt;img src=x onerror=alert(1)&gt; daily" in html and "<h2>Section</h2>" in html
    assert "<img" not in html and "<script" not in html and "onerror=alert(1)>" not in html
    assert "Content-Security-Policy\" content=\"default-src 'none'" in html  # opened from disk, still inert
    download = browser.get(f"/articles/{article['id']}/export.html?download=1")
    assert download.status_code == 200 and download.mimetype == "text/html"
    assert download.headers["Content-Disposition"].startswith("attachment;")

    # YAML carries the text as data: no angle bracket in the file (YAML's own \\x3C escape in
    # double quotes), yet a YAML reader gives every string back as written.
    yaml_text = api_client.get(f"/api/writeit/articles/{article['id']}/export?format=yaml").json["data"]["content"]
    assert "<" not in yaml_text and ">" not in yaml_text
    assert '"Shipping \\x3Cimg src=x onerror=alert(1)\\x3E' in yaml_text
    record = yaml.safe_load(yaml_text)
    assert record["user_inputs"]["topic"] == PAYLOAD

    page = browser.get(f"/articles/{article['id']}").get_data(as_text=True)
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert 'class="rendered-text article-text"' in page and "<h2>Section</h2>" in page  # it reads as an article
    assert re.search(r'<p class="help" id="article-length">\d+ words · about \d+ min to read</p>', page)
