"""What a review agent is and what it reports (seed 003's agent runs; re-exported by
:mod:`app.toolkit`)."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .skill import StepContext


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class ReviewIssue:
    """One finding of a review agent (seed 003's agent run results)."""

    severity: Severity
    category: str
    message: str
    location: str | None = None
    suggestion: str | None = None
    confidence: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError("confidence must lie between 0 and 1")
        object.__setattr__(self, "severity", Severity(self.severity))


@dataclass
class ReviewReport:
    issues: list[ReviewIssue] = field(default_factory=list)
    summary: str = ""

    @property
    def severity_breakdown(self) -> dict[str, int]:
        counts = {severity.value: 0 for severity in Severity}
        for issue in self.issues:
            counts[issue.severity.value] += 1
        return counts


class Agent(ABC):
    """A reviewer over a project's content (continuity, style, timeline, fact...)."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    categories: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def review(self, ctx: StepContext, content: dict[str, Any]) -> ReviewReport:
        """Read the content and report issues with severity, place and suggestion."""

    @classmethod
    def definition_problems(cls) -> list[str]:
        return [] if cls.name else ["has no name"]
