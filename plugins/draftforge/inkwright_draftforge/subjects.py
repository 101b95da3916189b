"""Projects as what review agents review (``draftforge.project``; ``app.toolkit.AgentSubjects``).

The content of a run is the manuscript at the run's ref (the pushed commit, or the default
branch's head): every chapter, plus ``manuscript/facts.md`` when the project keeps one (the
fact agent checks against it), and the project's settings for that agent.
"""

from __future__ import annotations

from typing import Any

from app.toolkit import AgentSubject, AgentSubjects

from .access import may
from .manuscript_values import FileMissing
from .models import Project
from .repositories import ProjectRepository
from .repository_store import open_manuscript

KIND = "draftforge.project"
FACTS_FILE = "facts.md"


def facts_path(project: Project) -> str:
    return f"{project.manuscript_directory}/{FACTS_FILE}"


class ProjectSubjects(AgentSubjects):
    kind = KIND

    def find(self, repos: Any, subject_id: str, principal: Any = None,
             permission: str | None = "can_read") -> AgentSubject | None:
        project = repos.get(ProjectRepository).get(subject_id)
        if project is None:
            return None
        if permission is not None and not may(project, principal, permission):
            return None
        return AgentSubject(kind=KIND, id=str(project.id), name=project.name, type=project.project_type.value,
                            genre=project.genre, language=project.language, owner_id=str(project.user_id))

    def report_url(self, subject: AgentSubject, run_id: str) -> str | None:
        return f"/draftforge/{subject.id}/runs/{run_id}"  # a path: a job has no request to build URLs from

    def content(self, repos: Any, subject: AgentSubject, ref: str | None, changed: list[str],
                agent_type: str) -> dict[str, Any]:
        project = repos.get(ProjectRepository).require(subject.id)
        manuscript = open_manuscript(project)
        ref = ref or manuscript.head()
        files = [{"path": chapter.path, "title": chapter.title, "chapter_index": chapter.index, "text": chapter.text}
                 for chapter in manuscript.chapters(ref)]
        try:
            facts = manuscript.read(facts_path(project), ref)
        except FileMissing:
            facts = None
        settings = dict(((project.settings or {}).get("agents") or {}).get(agent_type) or {})
        if facts is not None:
            settings["facts"] = {"path": facts_path(project), "text": facts}
        return {"ref": ref, "files": files, "changed": changed, "settings": settings}
