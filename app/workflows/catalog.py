"""Where workflows come from: packaged by plugins, or uploaded by a tenant and versioned.

Packaged workflows are read from each enabled plugin's ``workflows`` folder when the app
starts (an invalid one is reported against its plugin and left out). A tenant's uploads
are immutable versions: uploading the same document again changes nothing, and a changed
document must carry a new version — a change is a new version.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import audit
from ..errors import ConflictError, NotFoundError
from ..models import WorkflowVersion
from ..registry import PluginRegistry
from ..repositories import Repositories
from .definition import WorkflowDefinition
from .loader import WorkflowInvalid, load_workflow, parse_workflow
from .templates import TemplateEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogEntry:
    """One version of one workflow, wherever it came from."""

    name: str
    version: str
    description: str
    source: str
    definition: WorkflowDefinition
    origin: str  # "plugin:<name>" or "tenant"
    stored_id: Any = None
    created_at: Any = None


def version_order(version: str) -> tuple:
    """Sort key putting 1.10 after 1.9 and 2 after 1.10: numbers compare as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"[.\-+_]", version))


def checksum(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


class WorkflowCatalog:
    def __init__(self, registry: PluginRegistry, templates: TemplateEngine) -> None:
        self.registry = registry
        self.templates = templates
        self.packaged: dict[str, dict[str, CatalogEntry]] = {}
        self.problems: dict[str, list[str]] = {}

    def load_packaged(self) -> None:
        """Read every enabled plugin's workflow folder."""
        for plugin_name, plugin in self.registry.plugins.items():
            if not plugin.workflows:
                continue
            for path in sorted(Path(plugin.workflows).glob("*.y*ml")):
                self.add_packaged(plugin_name, path)

    def add_packaged(self, plugin_name: str, path: Path) -> None:
        source = path.read_text(encoding="utf-8")
        definition, problems = parse_workflow(source, self.registry.skills, self.templates, self.registry.providers,
                                              self.registry.agents)
        if problems:
            self.problems[f"{plugin_name}:{path.name}"] = [str(problem) for problem in problems]
            log.warning("workflow %s of plugin %s is invalid and left out: %s", path.name, plugin_name,
                        "; ".join(map(str, problems)))
            return
        versions = self.packaged.setdefault(definition.name, {})
        if definition.version in versions:
            self.problems[f"{plugin_name}:{path.name}"] = [
                f"{definition.name} {definition.version} is already provided by {versions[definition.version].origin}"]
            log.warning("workflow %s of plugin %s repeats %s %s and is left out", path.name, plugin_name,
                        definition.name, definition.version)
            return
        versions[definition.version] = CatalogEntry(definition.name, definition.version, definition.description,
                                                    source, definition, f"plugin:{plugin_name}")

    # Reading ------------------------------------------------------------------------------
    def _stored(self, row: WorkflowVersion) -> CatalogEntry:
        return CatalogEntry(row.name, row.version, row.description, row.source,
                            WorkflowDefinition.from_dict(row.definition), "tenant", row.id, row.created_at)

    def versions(self, repos: Repositories, name: str) -> list[CatalogEntry]:
        """Every version of a workflow, newest first.

        :raises NotFoundError: when neither a plugin nor the tenant has it.
        """
        if name in self.packaged:
            return sorted(self.packaged[name].values(), key=lambda entry: version_order(entry.version), reverse=True)
        rows = repos.workflow_versions.versions(name)
        if not rows:
            raise NotFoundError(f"No workflow named {name!r} here.", {"workflow": name})
        return [self._stored(row) for row in rows]

    def resolve(self, repos: Repositories, name: str, version: str | None = None) -> CatalogEntry:
        """A workflow version to run: the one asked for, else the newest.

        :raises NotFoundError: for an unknown workflow or version.
        """
        versions = self.versions(repos, name)
        if version is None:
            return versions[0]
        for entry in versions:
            if entry.version == str(version):
                return entry
        raise NotFoundError(f"Workflow {name!r} has no version {version!r}; it has "
                            f"{', '.join(e.version for e in versions)}.", {"workflow": name, "version": version})

    def listing(self, repos: Repositories) -> list[CatalogEntry]:
        """The newest version of every workflow this tenant can run."""
        entries = [self.versions(repos, name)[0] for name in sorted(self.packaged)]
        entries += [self.versions(repos, name)[0] for name in repos.workflow_versions.names()
                    if name not in self.packaged]
        return entries

    # Uploading ----------------------------------------------------------------------------
    def validate(self, source: str) -> WorkflowDefinition:
        """:raises WorkflowInvalid: with every problem and its line."""
        return load_workflow(source, self.registry.skills, self.templates, self.registry.providers,
                             self.registry.agents)

    def upload(self, repos: Repositories, source: str, user_id: Any) -> tuple[CatalogEntry, bool]:
        """Store a tenant's workflow document as a new version.

        :returns: the entry and whether it was created (False: the same document was there).
        :raises WorkflowInvalid: for a document with problems.
        :raises ConflictError: for a packaged workflow's name, or an existing version whose
            content differs (bump the version).
        """
        definition = self.validate(source)
        if definition.name in self.packaged:
            raise ConflictError(f"{definition.name!r} is the name of a packaged workflow; choose another name.",
                                {"fields": {"name": ["Taken by a plugin's workflow."]}})
        digest = checksum(source)
        existing = repos.workflow_versions.find(definition.name, definition.version)
        if existing is not None:
            if existing.checksum == digest:
                return self._stored(existing), False
            raise ConflictError(
                f"Version {definition.version} of {definition.name!r} exists with other content; a change is a "
                "new version, so bump the version.", {"fields": {"version": ["Already used by other content."]}})
        latest = repos.workflow_versions.latest(definition.name)
        with repos.transaction():
            row = repos.workflow_versions.add(WorkflowVersion(
                name=definition.name, version=definition.version, sequence=(latest.sequence + 1) if latest else 1,
                description=definition.description, source=source, checksum=digest,
                definition=definition.to_dict(), created_by_user_id=user_id,
            ))
            audit.record(repos, "workflow.upload", "workflow_version", row.id, actor_id=user_id,
                         metadata={"name": row.name, "version": row.version, "checksum": digest})
        return self._stored(row), True


__all__ = ["CatalogEntry", "WorkflowCatalog", "WorkflowInvalid", "checksum"]
