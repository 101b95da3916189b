"""app/workflows/yaml_document.py: YAML text is measured before it is built."""

from __future__ import annotations

import pytest

from app.workflows import yaml_document
from app.workflows.yaml_document import DocumentTooLarge, line_map, read_document


def test_aliases_are_counted_not_followed():
    many = "a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    with pytest.raises(DocumentTooLarge, match="more than 100 aliases") as raised:
        read_document(many)
    assert raised.value.line == 2


def test_an_anchor_reused_honestly_reads_as_plain_yaml():
    root, data = read_document("common: &c {model: m, temperature: 0.5}\nx: *c\ny: *c\n")
    assert data == {"common": {"model": "m", "temperature": 0.5}, "x": {"model": "m", "temperature": 0.5},
                    "y": {"model": "m", "temperature": 0.5}}
    assert line_map(root)["y"] == 3


def test_expanded_size_is_bounded_even_with_few_aliases(monkeypatch):
    monkeypatch.setattr(yaml_document, "MAX_NODES", 300)  # the document expands to ~350
    source = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b]\n"
    with pytest.raises(DocumentTooLarge, match="more than 300 values"):
        read_document(source)


def test_an_empty_document_is_nothing():
    assert read_document("") == (None, None)


def test_lines_of_nested_places():
    root, _data = read_document("steps:\n  - id: a\n    with:\n      text: hi\n")
    assert line_map(root) == {"": 1, "steps": 1, "steps[0]": 2, "steps[0].id": 2, "steps[0].with": 3,
                              "steps[0].with.text": 4}
