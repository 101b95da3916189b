"""Content-addressed artifact storage on local disk (app/storage.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import app.storage
from app.storage import LocalArtifactStorage


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_content_is_stored_once_at_a_path_made_of_its_sha256(tmp_path):
    storage = LocalArtifactStorage(tmp_path)
    digest = hashlib.sha256(b"a chapter").hexdigest()

    first = storage.put(b"a chapter")
    written = files_under(tmp_path)[0].stat().st_mtime_ns
    again = storage.put(b"a chapter")

    assert first == again
    assert (first.uri, first.content_hash, first.size_bytes) == (f"local:{digest}", digest, 9)
    assert files_under(tmp_path) == [tmp_path / digest[:2] / digest[2:4] / digest]
    assert files_under(tmp_path)[0].stat().st_mtime_ns == written  # not written again
    assert storage.read(first.uri) == b"a chapter"


def test_different_content_gets_a_file_of_its_own(tmp_path):
    storage = LocalArtifactStorage(tmp_path)
    one, two = storage.put(b"one"), storage.put(b"two")

    assert one.uri != two.uri
    assert (storage.read(one.uri), storage.read(two.uri)) == (b"one", b"two")
    assert len(files_under(tmp_path)) == 2


def test_a_write_that_fails_leaves_no_file_behind_not_even_a_partial_one(tmp_path, monkeypatch):
    storage = LocalArtifactStorage(tmp_path)

    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(app.storage.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        storage.put(b"half a chapter")
    assert files_under(tmp_path) == []

    monkeypatch.undo()
    stored = storage.put(b"half a chapter")
    assert storage.read(stored.uri) == b"half a chapter"
    assert [path.name for path in files_under(tmp_path)] == [stored.content_hash]


@pytest.mark.parametrize("uri", [
    "s3:" + "a" * 64,                      # another storage's URI
    "local:../../../etc/passwd",           # a path, not a hash
    "local:" + "A" * 64,                   # not a lower-case hex digest
    "local:" + "a" * 63,                   # too short
    "/etc/passwd",
])
def test_reading_a_uri_this_storage_did_not_make_is_refused(tmp_path, uri):
    with pytest.raises(FileNotFoundError):
        LocalArtifactStorage(tmp_path).read(uri)


def test_reading_content_that_was_never_stored_is_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        LocalArtifactStorage(tmp_path).read("local:" + hashlib.sha256(b"never").hexdigest())
