"""WriteIt's browser pages: the article form with errors beside fields, the article page,
downloads, and style primers."""

from __future__ import annotations

import re

from inkwright_writeit.models import Article, PrimerRecord

from app.toolkit import Run


def test_the_navigation_and_the_article_list(browser):
    page = browser.get("/articles")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "No articles yet" in text
    assert 'href="/style-primers"' in text


def test_the_new_article_form_is_prefilled_from_the_preferences(browser, api_client):
    api_client.patch("/api/account/preferences", json={"defaultModels": {"outline": "offline:fast"},
                                                       "stylePrimer": "essayist"})
    text = browser.get("/articles/new").get_data(as_text=True)
    assert 'list="model-catalog" name="outline_model" required type="text" value="offline:fast"' in text
    assert 'list="model-catalog" name="angles_model" required type="text" value="offline:writer"' in text
    # The model fields offer the catalog (issue 12), once for the whole form.
    assert text.count('<datalist id="model-catalog">') == 1 and 'value="offline:fast" label="offline' in text
    assert '<option selected value="essayist">' in text


def test_bad_article_forms_show_errors_beside_the_fields(browser, submit, beside, row_count):
    response = submit(browser, "/articles/new", {"topic": "", "audience": "x", "primer_id": "tech-journalist",
                                                 "angles_model": "gpt4", "outline_model": "offline:writer",
                                                 "draft_model": "offline:writer", "polish_model": "offline:fast"})
    assert response.status_code == 400
    assert beside(response, "topic") == ["Say what the article is about."]
    assert beside(response, "angles_model") == ["Name the model as provider:model, e.g. offline:writer."]
    response = submit(browser, "/articles/new", {"topic": "Bees", "primer_id": "no-such-primer",
                                                 "angles_model": "offline:writer", "outline_model": "offline:writer",
                                                 "draft_model": "offline:writer", "polish_model": "offline:fast"})
    assert response.status_code == 400
    assert beside(response, "primer_id") == ["Not a valid choice."]
    assert row_count(Article) == 0 and row_count(Run) == 0


def test_starting_an_article_in_the_browser_leads_to_its_page(browser, submit, run_jobs):
    response = submit(browser, "/articles/new", {"topic": "How bees decide where to live", "audience": "gardeners",
                                                 "primer_id": "plain-explainer", "angles_model": "offline:fast",
                                                 "outline_model": "offline:writer", "draft_model": "offline:writer",
                                                 "polish_model": "offline:fast"})
    assert response.status_code == 302, response.get_data(as_text=True)
    run_jobs()
    page = browser.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "How bees decide where to live" in text and "plain-explainer" in text
    assert 'data-status="awaiting_selection"' in text
    assert "/runs/" in text and "Branch from step" in text and "View YAML" in text
    assert "First run" in text and "(current)" in text
    yaml_page = browser.get(response.headers["Location"] + "/export.yaml?download=1")
    assert yaml_page.status_code == 200
    assert yaml_page.headers["Content-Disposition"].startswith("attachment;")
    assert "configuration_id: writeit.article" in yaml_page.get_data(as_text=True)
    assert browser.get(response.headers["Location"] + "/export.docx").status_code == 404
    markdown = browser.get(response.headers["Location"] + "/export.markdown")
    assert markdown.status_code == 302  # not finished: back to the article with the reason


def test_another_tenants_article_page_is_not_found(browser, make_user, login_api):
    other = login_api(make_user())
    article = other.post("/api/writeit/articles", json={"topic": "Their article"}).json["data"]
    assert browser.get(f"/articles/{article['id']}").status_code == 404
    assert browser.get(f"/articles/{article['id']}/export.yaml").status_code == 404
    assert browser.get("/articles/not-an-id").status_code == 404


def test_style_primers_in_the_browser(browser, submit, beside, row_count):
    page = browser.get("/style-primers").get_data(as_text=True)
    assert "Technical Journalist" in page and "shipped" in page

    bad = submit(browser, "/style-primers", {"primer_id": "Bad Id", "name": "", "content": ""})
    assert bad.status_code == 400
    assert beside(bad, "primer_id") == ["2 to 64 lower-case letters, digits and dashes."]
    assert beside(bad, "name") == ["This field is required."]
    assert row_count(PrimerRecord) == 0

    made = submit(browser, "/style-primers", {"primer_id": "house", "name": "House", "content": "Be brief.",
                                              "voice_attributes": "tone: dry\nnonsense line",
                                              "avoid": "hype\nfluff"})
    assert made.status_code == 302
    edit = browser.get("/style-primers/house/edit").get_data(as_text=True)
    assert "WRITING STYLE GUIDE: House" in edit and "Tone: dry" in edit and "Avoid: hype, fluff" in edit

    again = submit(browser, "/style-primers", {"primer_id": "house", "name": "Again", "content": "x"})
    assert again.status_code == 409
    assert beside(again, "primer_id") == ["This id is taken by one of your primers."]

    changed = submit(browser, "/style-primers/house/edit", {"name": "House v2", "content": "Be briefer."})
    assert changed.status_code == 302
    assert "House v2" in browser.get("/style-primers").get_data(as_text=True)
    deleted = submit(browser, "/style-primers/house/delete", {}, page="/style-primers")
    assert deleted.status_code == 302 and row_count(PrimerRecord) == 0
    assert browser.get("/style-primers/nope/edit").status_code == 404


def test_a_model_nobody_serves_is_refused_beside_its_field_and_nothing_is_written(browser, submit, beside,
                                                                                 row_count):
    response = submit(browser, "/articles/new", {"topic": "Bees", "primer_id": "tech-journalist",
                                                 "angles_model": "offline:writer", "outline_model": "offline:writer",
                                                 "draft_model": "foo:bar", "polish_model": "offline:fast"})

    assert response.status_code == 422
    assert beside(response, "draft_model") == ["foo:bar: No model provider named 'foo' is installed."]
    assert row_count(Article) == 0 and row_count(Run) == 0


def test_the_style_primers_page_has_unique_ids_so_each_label_finds_its_field(browser):
    page = browser.get("/style-primers").get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert sorted(set(ids)) == sorted(ids), [i for i in set(ids) if ids.count(i) > 1]
    assert '<label for="content">' in page and ids.count("content") == 1  # the style guide's box


def test_the_dashboard_lists_an_articles_runs_by_its_topic_and_the_run_page_links_back(browser, submit, run_jobs):
    made = submit(browser, "/articles/new", {"topic": "Why tides have two highs", "primer_id": "plain-explainer",
                                             "angles_model": "offline:fast", "outline_model": "offline:writer",
                                             "draft_model": "offline:writer", "polish_model": "offline:fast"})
    assert made.status_code == 302, made.get_data(as_text=True)
    article_url = made.headers["Location"]
    run_jobs()

    dashboard = browser.get("/").get_data(as_text=True)
    assert f'<a href="{article_url}">Article: Why tides have two highs</a>' in dashboard
    assert "writeit.article</span>" in dashboard and "· writeit" in dashboard
    run_url = re.search(r'href="(/runs/[0-9a-f-]{36})"', browser.get(article_url).get_data(as_text=True)).group(1)
    assert f'This run makes <a href="{article_url}">Article: Why tides have two highs</a>' in \
        browser.get(run_url).get_data(as_text=True)


def started_article(browser, submit, run_jobs, topic="How owls see at night") -> str:
    made = submit(browser, "/articles/new", {"topic": topic, "primer_id": "plain-explainer",
                                             "angles_model": "offline:fast", "outline_model": "offline:writer",
                                             "draft_model": "offline:writer", "polish_model": "offline:fast"})
    assert made.status_code == 302, made.get_data(as_text=True)
    run_jobs()
    return made.headers["Location"]


def test_the_article_page_offers_the_waiting_choice_side_by_side_with_a_word_diff(browser, submit, run_jobs):
    article = started_article(browser, submit, run_jobs)
    page = browser.get(article).get_data(as_text=True)

    block = re.search(r'<div class="card candidates-step" id="choose-angles">.*?Regenerate', page, re.S).group(0)
    assert "Your choice: <code>angles</code>" in block and block.count('<article class="candidate"') == 2
    assert block.count('<details class="candidate-diff">') == 2 and "Compare with candidate 2" in block
    assert re.search(r'<div class="word-diff" tabindex="0">.*?<(ins|del)>', block, re.S)
    assert f'name="next" value="{article}"' in block


def test_choosing_on_the_article_page_comes_back_to_the_article(browser, submit, run_jobs):
    article = started_article(browser, submit, run_jobs)
    run_path = re.search(r'action="(/runs/[0-9a-f-]{36})/steps/angles/select"', browser.get(article)
                         .get_data(as_text=True)).group(1)

    chosen = submit(browser, f"{run_path}/steps/angles/select", {"index": "1", "feedback": "Owls first",
                                                                 "next": article}, page=article)
    assert chosen.status_code == 302 and chosen.headers["Location"] == article
    run_jobs()
    assert "Your choice: <code>outline</code>" in browser.get(article).get_data(as_text=True)

    # A "next" off the studio is not followed: the choice lands on the run page.
    offsite = submit(browser, f"{run_path}/steps/outline/select", {"index": "0", "next": "//evil.example/x"},
                     page=article)
    assert offsite.headers["Location"] == run_path
