"""The words-over-time chart of a DraftForge project: SVG drawn on the server with pygal, made
to be inlined in a page.

Inlined means: no XML declaration, no script and nothing fetched from elsewhere. pygal's own
tooltips need its script from a CDN, so the chart goes without it (``js=[]``), and each dot
carries a ``<title>`` instead, which a browser shows as a tooltip with no script at all.
pygal still writes a small inline script holding its config for that missing script, and
comments naming its web site; both are taken out of the tree before it is written.

The x axis is time, not a row of categories: the history has an entry only for days with a
commit, and a week away from the manuscript should look like a week on the chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pygal
from pygal.style import Style

from inkwright_draftforge.stats import DayStats

# Above this many points the dots hide the line and bloat the markup, so only the line is drawn.
MOST_DOTS = 60
# One date label per this many pixels of width: an ISO date is about 60 px at pygal's 10 px font.
PIXELS_PER_LABEL = 100
WORDS_COLOUR = "#3F51B5"
TARGET_COLOUR = "#E53935"


def words_over_time_svg(
    history: Sequence[DayStats],
    target_word_count: int | None = None,
    width: int = 800,
    height: int = 400,
    title: str = "Words over time",
) -> str:
    """The SVG markup (a ``<svg>`` element, as text) of the word count by day in ``history``,
    with a dashed horizontal line at ``target_word_count`` when it is given (and positive).

    Any number of days works: none draws a "no data" chart, one a single dot, a thousand a
    line with a handful of date labels. The y axis starts at 0 so the growth is not
    exaggerated. The SVG has a viewBox and no fixed size, so it fills its container's width.
    """
    days = sorted(history, key=lambda day: day.date)
    target = target_word_count if target_word_count and target_word_count > 0 else None
    chart = pygal.DateLine(**_config(days, target, width, height, title))
    if days:
        chart.add("Words", [(day.date, day.word_count) for day in days], show_dots=len(days) <= MOST_DOTS,
                  stroke_style={"width": 2})
        if target is not None:
            start, end = _x_range(days)
            chart.add(f"Target: {target:,} words", [(start, target), (end, target)], show_dots=False,
                      stroke_style={"width": 3, "dasharray": "12, 6"})
    chart.add_xml_filter(lambda root: _made_inlinable(root, _description(days, target)))
    return chart.render()


def _config(days: list[DayStats], target: int | None, width: int, height: int, title: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "title": title,
        "style": _style(),
        "width": width,
        "height": height,
        "js": [],
        "disable_xml_declaration": True,
        "include_x_axis": True,
        "show_legend": target is not None,
        "legend_at_bottom": True,
        "truncate_label": -1,
        "truncate_legend": -1,
        "value_formatter": lambda words: f"{words:,.0f}",
        "x_value_formatter": lambda day: day.isoformat(),
        "dots_size": 3,
        # Room for half of the last date label, which is centred on the last day.
        "margin_right": 40,
        "no_data_text": "No writing recorded yet",
    }
    if not days:
        # Without data pygal still draws axes from 0 to 1 and dates from 1970; leave them out.
        return config | {"show_x_labels": False, "show_y_labels": False, "show_y_guides": False}
    start, end = _x_range(days)
    most_labels = max(2, width // PIXELS_PER_LABEL)
    return config | {
        "xrange": (start, end),
        "x_labels": [{"value": day, "label": day.isoformat()} for day in _label_days(days, most_labels)],
    }


def _style() -> Style:
    """pygal's default look with fainter guides, so the dashed target line is not taken for
    one, and a "no data" text that fits the chart (pygal's is 64 px)."""
    return Style(colors=(WORDS_COLOUR, TARGET_COLOUR), guide_stroke_color="rgba(0, 0, 0, .25)",
                 major_guide_stroke_color="rgba(0, 0, 0, .4)", no_data_font_size=24)


def _x_range(days: list[DayStats]) -> tuple[date, date]:
    """The dates the x axis spans: the history's, widened by a day each side for a single day,
    so that day's dot sits in the middle and a target line has a length."""
    first, last = days[0].date, days[-1].date
    if first == last:
        return first - timedelta(days=1), last + timedelta(days=1)
    return first, last


def _label_days(days: list[DayStats], most: int) -> list[date]:
    """At most ``most`` evenly spaced whole days from the first to the last, for the x labels:
    pygal's own scale would put them at fractions of days, or a dozen on one date."""
    first, last = days[0].date, days[-1].date
    span = (last - first).days
    if span == 0:
        return [first]
    step = max(1, math.ceil(span / (most - 1)))
    return [first + timedelta(days=offset) for offset in range(0, span + 1, step)]


def _description(days: list[DayStats], target: int | None) -> str:
    """What the chart shows, in words, for a screen reader."""
    if not days:
        return "No writing has been recorded yet."
    first, last = days[0], days[-1]
    days_with_commits = "1 day with commits" if len(days) == 1 else f"{len(days):,} days with commits"
    text = (f"Line chart of the manuscript's word count by day, over {days_with_commits} "
            f"from {first.date.isoformat()} to {last.date.isoformat()}: "
            f"{last.word_count:,} words on {last.date.isoformat()}.")
    if target is not None:
        text += f" Dashed line: the target of {target:,} words, {100 * last.word_count / target:.0f}% reached."
    return text


def _made_inlinable(root: Any, description: str) -> Any:
    """pygal's tree, ready to inline. ``root`` is an ElementTree (or lxml, when installed)
    element of pygal's; tags carry no namespace prefix in either."""
    _remove_comments_and_scripts(root)
    _label(root, description)
    _add_dot_tooltips(root)
    return root


def _remove_comments_and_scripts(root: Any) -> None:
    """Out: pygal's comments (its web site's addresses, the date it ran) and its inline config
    script (data for the tooltip script the chart does not load)."""
    for parent in list(root.iter()):
        for child in list(parent):
            # A comment's (and processing instruction's) tag is the factory that made it.
            if callable(child.tag) or _name(child) == "script":
                parent.remove(child)


def _label(root: Any, description: str) -> None:
    """An accessible name and description: pygal's ``<title>`` and a ``<desc>`` after it, both
    named by ``aria-labelledby``, which screen readers honour on inline SVG more reliably than
    the bare elements."""
    chart_id = root.get("id")
    title = next(child for child in root if _name(child) == "title")
    title.set("id", f"{chart_id}-title")
    desc = root.makeelement("desc", {"id": f"{chart_id}-desc"})
    desc.text = description
    root.insert(list(root).index(title) + 1, desc)
    root.set("role", "img")
    root.set("aria-labelledby", f"{chart_id}-title {chart_id}-desc")


def _add_dot_tooltips(root: Any) -> None:
    """A ``<title>`` on each dot from the value pygal wrote for its script ("2025-03-01: 1,200"),
    which a browser shows on hover by itself."""
    for dots in root.iter():
        if _name(dots) != "g" or dots.get("class") != "dots":
            continue
        value = next((child.text for child in dots if _name(child) == "desc" and child.get("class") == "value"), None)
        if value:
            tooltip = dots.makeelement("title", {})
            tooltip.text = f"{value} words"
            dots.insert(0, tooltip)


def _name(element: Any) -> str:
    """An element's tag without its namespace, if it has one."""
    return element.tag.rsplit("}", 1)[-1]
