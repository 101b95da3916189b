"""The kinds of subject agents review: the plugins' (``Plugin.agent_subjects()``) and the
core's own, a workflow run, whose completed steps' texts are its files.

A run as a subject lets a person review what any workflow wrote (``POST /api/agent-runs``
with ``subjectKind: inkwright.run``) and is what a workflow step ``agent: <name>`` reviews.
"""

from __future__ import annotations

from typing import Any

from ..agent import AgentSubject, AgentSubjects
from ..errors import ValidationError
from ..registry import PluginRegistry, declared_kinds
from ..repositories import Repositories, as_uuid
from ..run_texts import texts_of_run

RUN_KIND = "inkwright.run"


class RunSubjects(AgentSubjects):
    """A workflow run of the tenant: each completed step with text output is a file
    ``steps/<step>.md``; any member who may read the run may review it."""

    kind = RUN_KIND

    def find(self, repos: Repositories, subject_id: str, principal: Any = None,
             permission: str | None = "can_read") -> AgentSubject | None:
        run = repos.runs.get(as_uuid(subject_id)) if as_uuid(subject_id) else None
        if run is None:
            return None
        return AgentSubject(kind=self.kind, id=str(run.id), name=f"{run.workflow_name} v{run.workflow_version}",
                            type="workflow_run", owner_id=str(run.created_by_user_id) if run.created_by_user_id
                            else None)

    def report_url(self, subject: AgentSubject, run_id: str) -> str | None:
        return f"/runs/{subject.id}"  # a path, as a job has no request to build URLs from

    def content(self, repos: Repositories, subject: AgentSubject, ref: str | None, changed: list[str],
                agent_type: str) -> dict[str, Any]:
        files = [{"path": f"steps/{step.step_key}.md", "title": step.step_key, "chapter_index": index,
                  "text": step.text} for index, step in enumerate(texts_of_run(repos, as_uuid(subject.id)), start=1)]
        return {"ref": ref, "files": files, "changed": changed, "settings": {}}


def subject_kinds(registry: PluginRegistry) -> dict[str, AgentSubjects]:
    """Every kind by name: the core's, then each enabled plugin's (a kind declared twice keeps
    the first, as event types do)."""
    return declared_kinds(registry, {RUN_KIND: RunSubjects()}, "agent_subjects", AgentSubjects)


def subject_kind(registry: PluginRegistry, kind: str) -> AgentSubjects:
    """:raises ValidationError: for a kind no installed plugin declares."""
    kinds = subject_kinds(registry)
    if kind not in kinds:
        raise ValidationError("No installed plugin reviews subjects of this kind.",
                              {"fields": {"subjectKind": [f"Not one of: {', '.join(sorted(kinds))}."]}})
    return kinds[kind]
