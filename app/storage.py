"""Artifact storage: content-addressed bytes, stored once per sha256 (seed 004).

``ArtifactStorage`` is the interface an object store (S3, R2, GCS) implements; the
embedded default keeps files on local disk under ``ARTIFACT_DIR``, at a path made of the
content hash, so identical content is written once however many steps produce it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredContent:
    uri: str
    content_hash: str
    size_bytes: int


class ArtifactStorage(ABC):
    """Where artifact bytes live. URIs it returns are opaque to everything else."""

    @abstractmethod
    def put(self, content: bytes) -> StoredContent:
        """Store bytes (once per content hash) and say where they are."""

    @abstractmethod
    def read(self, uri: str) -> bytes:
        """The bytes at a URI this storage returned.

        :raises FileNotFoundError: when they are gone.
        """

    @abstractmethod
    def delete(self, uri: str) -> None:
        """Remove the bytes at a URI this storage returned (nothing if they are gone already).
        Content is shared by hash: the caller checks that nothing else holds it."""


class LocalArtifactStorage(ArtifactStorage):
    """Files under ``root/ab/cd/<sha256>``; written to a temporary name, then renamed, so a
    reader never sees half a file and a crash leaves no partial artifact."""

    scheme = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, content_hash: str) -> Path:
        return self.root / content_hash[:2] / content_hash[2:4] / content_hash

    def put(self, content: bytes) -> StoredContent:
        digest = hashlib.sha256(content).hexdigest()
        path = self.path_for(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(content)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return StoredContent(f"{self.scheme}:{digest}", digest, len(content))

    def _path_of(self, uri: str) -> Path:
        scheme, _, digest = uri.partition(":")
        if scheme != self.scheme or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise FileNotFoundError(uri)
        return self.path_for(digest)

    def read(self, uri: str) -> bytes:
        return self._path_of(uri).read_bytes()

    def delete(self, uri: str) -> None:
        self._path_of(uri).unlink(missing_ok=True)
