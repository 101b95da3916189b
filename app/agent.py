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
    """One finding of a review agent (seed 003's agent run results).

    ``file`` is a path among the content's ``files`` and ``line`` a 1-based line of it; the
    core drops a finding naming a file or line the content does not have (and counts it in
    the run's ``context.discarded_findings``), so a model's invented places never reach a
    report. The core numbers the kept findings (``cont-001``...), not the agent.
    """

    severity: Severity
    category: str
    message: str
    location: str | None = None
    suggestion: str | None = None
    confidence: float = 1.0
    file: str | None = None
    line: int | None = None

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
    """A reviewer over a subject's content (continuity, style, timeline, fact...).

    Installed from the ``inkwright.agents`` entry-point group and run by the core as an
    agent run (``POST /api/agent-runs``, ``flask inkwright agents run``, a push, a schedule,
    or a workflow step ``agent: <name>``). ``review`` gets a context whose ``generate`` is
    metered like a step's (each call an AI response and a usage-log row carrying the agent's
    type and run) and whose ``check_cancelled`` raises once the run is canceled or past its
    five minutes, and the content::

        {"subject": {"kind", "id", "name", "type", "genre", "language"},
         "ref": "<commit sha or None>",
         "files": [{"path", "title", "chapter_index", "text"}, ...],
         "changed": ["<paths the triggering push touched>", ...],
         "settings": {"model", "context_window", ...: this agent's settings for the subject}}
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    categories: ClassVar[tuple[str, ...]] = ()
    #: How the core numbers this agent's findings (``cont`` → ``cont-001``); the name's
    #: first four letters when empty.
    id_prefix: ClassVar[str] = ""

    @abstractmethod
    def review(self, ctx: StepContext, content: dict[str, Any]) -> ReviewReport:
        """Read the content and report issues with severity, file, line and suggestion."""

    @classmethod
    def definition_problems(cls) -> list[str]:
        return [] if cls.name else ["has no name"]


@dataclass(frozen=True)
class AgentSubject:
    """What an agent run is about, as its plugin describes it (``content["subject"]``)."""

    kind: str
    id: str
    name: str
    type: str | None = None
    genre: str | None = None
    language: str | None = None
    #: The person the subject belongs to (who pays when a push or a schedule starts a run).
    owner_id: str | None = None


class AgentSubjects(ABC):
    """A kind of subject agents review, declared by a plugin (``Plugin.agent_subjects()``).

    The core stores only the kind and the id; these methods get the repositories of the
    run's tenant and find, authorise and read the subject.
    """

    #: ``<plugin>.<kind>``, e.g. ``draftforge.project``.
    kind: ClassVar[str] = ""

    @abstractmethod
    def find(self, repos: Any, subject_id: str, principal: Any = None,
             permission: str | None = "can_read") -> AgentSubject | None:
        """The subject, if ``principal`` may do ``permission`` on it (``can_read``,
        ``can_run_agents``); ``None`` when it does not exist for them. A worker running an
        authorised run passes no principal and no permission."""

    @abstractmethod
    def content(self, repos: Any, subject: AgentSubject, ref: str | None, changed: list[str],
                agent_type: str) -> dict[str, Any]:
        """The content an agent reviews (``files``, ``ref``, ``changed``, ``settings``; the
        core adds ``subject``)."""

    def report_url(self, subject: AgentSubject, run_id: str) -> str | None:
        """Where a person reads a run's report in the studio (the ``agent_complete``
        notification links there); ``None`` links to the run in the JSON API."""
        return None
