"""What is wrong with a workflow document: each problem with its line and place, and the
one error that carries them all (``WORKFLOW_INVALID``, ``details.problems``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow document."""

    path: str
    message: str
    line: int | None = None
    #: What kind of problem, where a client may act on it (``TEMPLATE_BUDGET_EXCEEDED``).
    code: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "document"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        found = {"line": self.line, "path": self.path, "message": self.message}
        if self.code is not None:
            found["code"] = self.code
        return found


class WorkflowInvalid(ValidationError):
    """A workflow document with problems; ``details.problems`` lists each with its line."""

    code = "WORKFLOW_INVALID"

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        count = len(problems)
        super().__init__(f"The workflow has {count} problem{'s' if count != 1 else ''}: {problems[0]}",
                         {"problems": [problem.to_dict() for problem in problems]})


