"""The words-over-time chart: SVG a page can inline, for no, one or a thousand days."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from datetime import date, timedelta

import pytest
from inkwright_draftforge.stats import DayStats
from inkwright_draftforge.stats_chart import MOST_DOTS, words_over_time_svg

SVG = "{http://www.w3.org/2000/svg}"
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def history(days: int, start: date = date(2025, 1, 1), every: int = 1) -> list[DayStats]:
    return [DayStats(start + timedelta(days=every * index), 1000 + 250 * index, 1 + index // 10, 250, 1)
            for index in range(days)]


def parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def texts(root: ElementTree.Element) -> list[str]:
    return [element.text for element in root.iter(f"{SVG}text") if element.text]


def series(root: ElementTree.Element, index: int) -> list[ElementTree.Element]:
    return [group for group in root.iter(f"{SVG}g") if f"serie-{index}" in (group.get("class") or "").split()]


@pytest.mark.parametrize("days", [0, 1, 2, 30, 1000])
@pytest.mark.parametrize("target", [None, 80_000])
def test_the_chart_is_svg_to_inline_with_nothing_to_fetch_or_run(days, target):
    svg = words_over_time_svg(history(days), target_word_count=target)
    assert svg.startswith("<svg"), "an XML declaration cannot be inlined in HTML"
    root = parsed(svg)
    assert root.tag == f"{SVG}svg"
    assert not list(root.iter(f"{SVG}script"))
    assert "<script" not in svg and "<!--" not in svg and "<?" not in svg
    assert set(re.findall(r"https?://[^\s\"'<>)]+", svg)) <= NAMESPACES
    assert not [element for element in root.iter() if any("href" in name for name in element.attrib)]


def test_the_chart_has_a_title_and_a_description_for_screen_readers():
    root = parsed(words_over_time_svg(history(3), target_word_count=2000, title="The Lighthouse"))
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "The Lighthouse"
    assert "1,500 words on 2025-01-03" in desc.text and "target of 2,000 words, 75% reached" in desc.text
    assert root.get("role") == "img"
    assert root.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]


def test_a_target_draws_a_horizontal_line_with_a_legend():
    root = parsed(words_over_time_svg(history(10), target_word_count=80_000))
    [line] = [path for group in series(root, 1) for path in group.iter(f"{SVG}path")]
    points = re.findall(r"[ML]\s*([\d.]+)\s+([\d.]+)", line.get("d"))
    assert len(points) == 2 and points[0][1] == points[1][1] and points[0][0] != points[1][0]
    assert "Target: 80,000 words" in texts(root)


@pytest.mark.parametrize("target", [None, 0])
def test_without_a_target_there_is_one_line_and_no_legend(target):
    root = parsed(words_over_time_svg(history(10), target_word_count=target))
    assert series(root, 0) and not series(root, 1)
    assert not any("Target" in text for text in texts(root))


def test_no_history_renders_a_no_data_chart():
    root = parsed(words_over_time_svg([], target_word_count=80_000))
    assert "No writing recorded yet" in texts(root)
    assert not series(root, 0)
    assert root.find(f"{SVG}desc").text == "No writing has been recorded yet."


def test_one_day_is_a_dot_with_its_date_and_a_target_line_with_a_length():
    root = parsed(words_over_time_svg(history(1), target_word_count=5000))
    assert len(list(root.iter(f"{SVG}circle"))) == 1
    assert "2025-01-01" in texts(root)
    [line] = [path for group in series(root, 1) for path in group.iter(f"{SVG}path")]
    points = re.findall(r"[ML]\s*([\d.]+)\s+([\d.]+)", line.get("d"))
    assert points[0][0] != points[1][0]


def test_a_few_days_have_dots_with_tooltips_that_need_no_script():
    root = parsed(words_over_time_svg(history(5)))
    dots = [group for group in root.iter(f"{SVG}g") if group.get("class") == "dots"]
    assert len(dots) == 5
    assert dots[0].find(f"{SVG}title").text == "2025-01-01: 1,000 words"


def test_a_thousand_days_are_a_line_with_a_few_date_labels():
    width = 800
    root = parsed(words_over_time_svg(history(1000), width=width, height=300))
    assert root.get("viewBox") == f"0 0 {width} 300"
    assert not list(root.iter(f"{SVG}circle")), f"more than {MOST_DOTS} days draw no dots"
    dates = [text for text in texts(root) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)]
    assert 2 <= len(dates) <= width // 100
    assert dates == sorted(dates) and len(set(dates)) == len(dates)


def test_the_x_axis_is_time_so_unsorted_and_sparse_days_come_out_in_order():
    days = history(5, every=30)
    root = parsed(words_over_time_svg(list(reversed(days))))
    dates = [text for text in texts(root) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)]
    assert dates[0] == "2025-01-01" and dates == sorted(dates)
