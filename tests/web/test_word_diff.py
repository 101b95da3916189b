"""Two candidates compared word by word (app/web/word_diff.py)."""

from __future__ import annotations

import time

from app.web.word_diff import MOST_WORDS, word_diff


def test_this_candidates_own_words_are_marked_and_the_others_struck():
    html = str(word_diff("The quick brown fox jumps", "The slow brown fox leaps high"))
    assert html == "The <del>quick </del><ins>slow </ins>brown fox <del>jumps</del><ins>leaps high</ins>"


def test_equal_texts_have_no_marks_and_a_changed_line_break_is_no_change():
    assert str(word_diff("one two\nthree", "one two three")) == "one two three"


def test_markup_in_a_candidate_is_text_in_the_comparison():
    html = str(word_diff("a <b>", "a <script>alert(1)</script>"))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_long_or_repetitive_text_is_compared_quickly_and_says_where_it_stopped():
    repetitive = " ".join("same" for _ in range(MOST_WORDS * 2))
    alternating = " ".join("same" if i % 2 else "diff" for i in range(MOST_WORDS * 2))
    started = time.perf_counter()
    html = str(word_diff(repetitive, alternating))
    assert time.perf_counter() - started < 2  # the quadratic path took minutes
    assert f"compared up to {MOST_WORDS:,} words" in html
