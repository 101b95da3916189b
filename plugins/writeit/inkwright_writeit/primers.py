"""Style primers (seed 001's StylePrimer): the shipped ones and each tenant's own.

A few primers ship with the package as YAML (``primers/*.yaml``) and every tenant sees
them; a tenant's own primer with the same id overrides the shipped one for that tenant.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from app.toolkit import (
    ConflictError,
    NotFoundError,
    Repositories,
    ValidationError,
    record_audit,
    utcnow,
)

from .models import PrimerRecord
from .repositories import PrimerRepository

SHIPPED_FOLDER = Path(__file__).resolve().parent / "primers"
DEFAULT_PRIMER = "tech-journalist"


@dataclass(frozen=True)
class StylePrimer:
    """A reusable writing style (seed 001)."""

    primer_id: str
    name: str
    description: str
    content: str
    voice_attributes: dict[str, str] = field(default_factory=dict)
    example_openings: list[str] = field(default_factory=list)
    guidelines: dict[str, list[str]] = field(default_factory=dict)
    shipped: bool = False
    created_at: datetime | None = None
    last_used: datetime | None = None

    def format_for_prompt(self) -> str:
        """The primer as the style guide a model reads (seed 001's format, verbatim)."""
        formatted = f"WRITING STYLE GUIDE: {self.name}\n\n"
        formatted += f"{self.content}\n\n"
        for attr, value in self.voice_attributes.items():
            formatted += f"{attr.title()}: {value}\n"
        if self.example_openings:
            formatted += "\nExample openings:\n"
            for opening in self.example_openings[:2]:  # seed 001: at most two examples
                formatted += f"- {opening}\n"
        if "avoid" in self.guidelines:
            formatted += f"\nAvoid: {', '.join(self.guidelines['avoid'])}\n"
        if "prefer" in self.guidelines:
            formatted += f"Prefer: {', '.join(self.guidelines['prefer'])}\n"
        return formatted

    @classmethod
    def from_record(cls, record: PrimerRecord) -> StylePrimer:
        return cls(primer_id=record.primer_id, name=record.name, description=record.description,
                   content=record.content, voice_attributes=dict(record.voice_attributes or {}),
                   example_openings=list(record.example_openings or []),
                   guidelines={k: list(v) for k, v in (record.guidelines or {}).items()},
                   created_at=record.created_at, last_used=record.last_used)


@functools.cache
def shipped_primers() -> dict[str, StylePrimer]:
    """The primers packaged with WriteIt, by id (read once; the files never change at run time)."""
    found = {}
    for path in sorted(SHIPPED_FOLDER.glob("*.yaml")):
        raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        primer = StylePrimer(shipped=True, **raw)
        found[primer.primer_id] = primer
    return found


class PrimerLibrary:
    """The primers a tenant can use: its own first, then the shipped ones."""

    def __init__(self, repos: Repositories) -> None:
        self.repos = repos
        self.records = repos.get(PrimerRepository)

    def all(self) -> list[StylePrimer]:
        own = {record.primer_id: StylePrimer.from_record(record) for record in self.records.all()}
        merged = {**shipped_primers(), **own}
        return [merged[key] for key in sorted(merged)]

    def find(self, primer_id: str) -> StylePrimer | None:
        record = self.records.by_primer_id(primer_id)
        if record is not None:
            return StylePrimer.from_record(record)
        return shipped_primers().get(primer_id)

    def require(self, primer_id: str, field_name: str = "primerId") -> StylePrimer:
        """:raises ValidationError: naming ``field_name`` when no such primer exists here."""
        primer = self.find(primer_id)
        if primer is None:
            known = ", ".join(p.primer_id for p in self.all())
            raise ValidationError("Some of the values sent are not valid; see error.details.fields.",
                                  {"fields": {field_name: [f"No style primer {primer_id!r}; choose one of {known}."]}})
        return primer

    def create(self, values: dict[str, Any]) -> StylePrimer:
        """Add the tenant's own primer (it may override a shipped one of the same id).

        :raises ConflictError: when the tenant already has a primer with that id.
        """
        if self.records.by_primer_id(values["primer_id"]) is not None:
            raise ConflictError(f"You already have a style primer {values['primer_id']!r}; edit it instead.",
                                {"fields": {"primerId": ["This id is taken by one of your primers."]}})
        with self.repos.transaction():
            record = self.records.add(PrimerRecord(**values))
        return StylePrimer.from_record(record)

    def update(self, primer_id: str, values: dict[str, Any]) -> StylePrimer:
        """Change the tenant's own primer; editing a shipped one makes the tenant's copy."""
        record = self.records.by_primer_id(primer_id)
        with self.repos.transaction():
            if record is None:
                shipped = shipped_primers().get(primer_id)
                if shipped is None:
                    raise NotFoundError(f"No style primer {primer_id!r} here.", {"primerId": primer_id})
                record = self.records.add(PrimerRecord(
                    primer_id=primer_id, name=shipped.name, description=shipped.description, content=shipped.content,
                    voice_attributes=dict(shipped.voice_attributes), example_openings=list(shipped.example_openings),
                    guidelines=dict(shipped.guidelines)))
            for key, value in values.items():
                if key != "primer_id":
                    setattr(record, key, value)
            self.records.save(record)
        return StylePrimer.from_record(record)

    def delete(self, primer_id: str) -> None:
        """Remove the tenant's own primer (a shipped one of that id shows again).

        :raises ConflictError: for a shipped primer the tenant has not overridden.
        :raises NotFoundError: for an unknown id.
        """
        record = self.records.by_primer_id(primer_id)
        if record is None:
            if primer_id in shipped_primers():
                raise ConflictError(f"{primer_id!r} ships with WriteIt and cannot be deleted.",
                                    {"primerId": primer_id})
            raise NotFoundError(f"No style primer {primer_id!r} here.", {"primerId": primer_id})
        with self.repos.transaction():
            record_audit("primer.delete", "primer", primer_id, metadata={"name": record.name})
            self.records.delete(record)

    def mark_used(self, primer_id: str) -> None:
        record = self.records.by_primer_id(primer_id)
        if record is not None:
            record.last_used = utcnow()
