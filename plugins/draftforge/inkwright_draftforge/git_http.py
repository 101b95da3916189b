"""Git remotes for DraftForge projects: ``/git/<username>/<slug>.git``, dulwich's smart HTTP.

A novelist clones, pulls and pushes their manuscript with any git client::

    git clone http://any-name:<API key>@studio.example/git/ada/the-lighthouse.git

=======================  ==================================================================
credentials              HTTP Basic, an API key (``iwk_…``) as the password. The user name
                         is ignored (git and credential helpers insist on one; ``x`` will
                         do): the key alone says who calls, acting as the person who made
                         it, in the key's tenant, with the key's role.
401                      no credentials, or a key that is unknown, revoked or expired
                         (with ``WWW-Authenticate: Basic realm="Inkwright"``, so git asks)
404                      no such person or project (the trash counts as none), a project
                         of another tenant than the key's, or one the caller may not read
403                      a push (``git-receive-pack``) without ``can_write``
=======================  ==================================================================

Only the smart protocol's three URLs are served (``info/refs``, ``git-upload-pack``,
``git-receive-pack``), by dulwich's handlers over a backend holding just the one repository.

A push goes through two hooks of dulwich's receive-pack, run in the request (its app context,
the pusher as the principal):

``update`` (per ref, after the pack is stored, before the ref moves)
    refuses a non-fast-forward of the default branch unless the pusher is the project's
    owner, and a deletion of the default branch by anyone. A refused ref does not move and
    nothing is recorded for it; git shows ``! [remote rejected] main -> main (only the
    owner may force-push the default branch)``.
``post-receive`` (the refs that did move)
    for each: a ``project.pushed`` event and a ``project.push`` audit entry in one
    transaction; then, for the default branch, the stats job for the new sha (``stats_jobs``);
    then a run of every agent in ``settings.agents`` that is ``enabled`` with trigger
    ``commit`` (a push to the default branch) or ``pr`` (to another branch), with the new
    sha as ``trigger_ref`` and the paths changed as ``changed``. Stats and agents are best
    effort: the refs have moved by then, so a failure there is logged, never the push's.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qs

from dulwich.errors import HookError
from dulwich.repo import Repo
from dulwich.server import Backend, ReceivePackHandler, UploadPackHandler
from dulwich.web import make_wsgi_chain
from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix

from app.toolkit import (
    DomainEvent,
    principal_for_api_key,
    record_audit,
    repositories,
    user_by_username,
)

from .access import may, stamp_access
from .manuscript import ManuscriptRepository
from .models import Project
from .repositories import ProjectRepository, VisibleProjects
from .repository_store import repository_path
from .stats_jobs import queue_stats
from .triggered_agents import queue_triggered_agents

log = logging.getLogger(__name__)

PREFIX = "/git/"
REALM = 'Basic realm="Inkwright"'
GIT_URL = re.compile(r"^/git/(?P<username>[^/]+)/(?P<slug>[^/]+)\.git(?P<rest>/info/refs|/git-upload-pack"
                     r"|/git-receive-pack)$")
SERVICES = {"git-upload-pack": "can_read", "git-receive-pack": "can_write"}
HANDLERS = {b"git-upload-pack": UploadPackHandler, b"git-receive-pack": ReceivePackHandler}
ZERO_SHA = b"0" * 40
BRANCH_PREFIX = b"refs/heads/"
FORCE_PUSH_REFUSED = "only the owner may force-push the default branch"
DELETE_REFUSED = "the default branch cannot be deleted"


def install_git_http(app: Flask) -> None:
    """Serve ``/git/…`` with :class:`GitHTTP` and everything else with the app as before.

    Behind ``TRUSTED_PROXIES`` the git requests get the same ``ProxyFix`` as the app's own
    (it is inside the wrapped ``wsgi_app``, which git requests no longer reach).
    """
    git: Any = GitHTTP(app)
    proxies = app.config.get("TRUSTED_PROXIES")
    if proxies:
        git = ProxyFix(git, x_for=proxies, x_proto=proxies)
    app.wsgi_app = GitDispatcher(app.wsgi_app, git)  # type: ignore[method-assign]


class GitDispatcher:
    """The WSGI middleware: ``/git/…`` to git, the rest to Flask."""

    def __init__(self, flask_app: Any, git_app: Any) -> None:
        self.flask_app = flask_app
        self.git_app = git_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or ""
        if path.startswith(PREFIX):
            return self.git_app(environ, start_response)
        return self.flask_app(environ, start_response)


class Refused(Exception):
    def __init__(self, status: str, message: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def unauthorised(message: str) -> Refused:
    return Refused("401 Unauthorized", message, (("WWW-Authenticate", REALM),))


NOT_FOUND_MESSAGE = "Repository not found."


@dataclass(frozen=True)
class Target:
    """What a git request is about, read once before the transfer (no ORM object outlives
    the read transaction, which is closed before the pack streams)."""

    project_id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID
    default_branch: str
    path: Path
    chapters_directory: str
    manuscript_directory: str
    pusher_id: uuid.UUID | None

    @property
    def default_ref(self) -> bytes:
        return BRANCH_PREFIX + self.default_branch.encode()

    @property
    def pusher_is_owner(self) -> bool:
        return self.pusher_id is not None and self.pusher_id == self.owner_id

    def manuscript(self) -> ManuscriptRepository:
        return ManuscriptRepository(self.path, self.default_branch, self.chapters_directory,
                                    self.manuscript_directory)


def basic_password(header: str | None) -> str | None:
    """The password of an HTTP Basic ``Authorization`` header (the user name is ignored)."""
    scheme, _, encoded = (header or "").strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _name, colon, password = decoded.partition(":")
    return password.strip() if colon and password.strip() else None


class OneRepository(Backend):
    """A backend for one request: whatever path dulwich asks for, it is this repository."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def open_repository(self, path: Any) -> Repo:
        return self.repo


class GitHTTP:
    """The git side: authenticate, find the project, check access, hand over to dulwich."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        # A generator, so the request context stays pushed while dulwich streams the answer
        # (its handlers write as they go) and while the push hooks record what happened.
        with self.app.request_context(environ):
            try:
                target, rest = self.authorise(environ)
            except Refused as refused:
                body = (refused.message + "\n").encode()
                start_response(refused.status, [("Content-Type", "text/plain; charset=utf-8"),
                                                ("Content-Length", str(len(body))), *refused.headers])
                yield body
                return
            yield from self.serve(environ, start_response, target, rest)

    # -- Who, what, may they ---------------------------------------------------------------

    def authorise(self, environ: dict[str, Any]) -> tuple[Target, str]:
        matched = GIT_URL.match(environ.get("PATH_INFO") or "")
        secret = basic_password(environ.get("HTTP_AUTHORIZATION"))
        if secret is None:
            public = self.public_clone(matched, environ)
            if public is not None:
                return public
            raise unauthorised("Authentication required: use an Inkwright API key as the password.")
        principal = principal_for_api_key(secret)
        if principal is None:
            raise unauthorised("The API key is not valid, or was revoked or has expired.")
        g.inkwright_principal = principal
        if matched is None:
            raise Refused("404 Not Found", NOT_FOUND_MESSAGE)
        rest = matched["rest"]
        service = self.service_of(matched, environ)
        if service not in SERVICES:
            # The dumb protocol is not served: it would bypass the hooks of a push.
            raise Refused("403 Forbidden", "Only git's smart HTTP protocol is served here.")
        repos = repositories(principal.tenant_id)
        owner = user_by_username(repos, matched["username"])
        project = repos.get(ProjectRepository).of_owner(owner.id, matched["slug"]) if owner is not None else None
        if project is None and owner is not None:
            # Another tenant's project its owner opened (unlisted, public): read, never written.
            project = repos.get(VisibleProjects).of_owner(owner.id, matched["slug"])
        if (project is None or project.deleted_at is not None or not may(project, principal, "can_read")):
            repos.transaction().end_read()
            raise Refused("404 Not Found", NOT_FOUND_MESSAGE)
        if not may(project, principal, SERVICES[service]):
            repos.transaction().end_read()
            raise Refused("403 Forbidden", "You may read this project but not push to it.")
        stamp_access(project, principal)  # a collaborator's clone or push is an access too
        return self.target_of(project, principal.user_id), rest

    @staticmethod
    def service_of(matched: Any, environ: dict[str, Any]) -> str | None:
        if matched["rest"] == "/info/refs":
            return (parse_qs(environ.get("QUERY_STRING") or "").get("service") or [None])[0]
        return matched["rest"].lstrip("/")

    def public_clone(self, matched: Any, environ: dict[str, Any]) -> tuple[Target, str] | None:
        """A clone or fetch of a public project needs no key (anyone reads it); anything else
        without one is asked for credentials, as before — a push above all."""
        if matched is None or SERVICES.get(self.service_of(matched, environ)) != "can_read":
            return None
        repos = repositories()
        owner = user_by_username(repos, matched["username"])
        project = repos.get(VisibleProjects).of_owner(owner.id, matched["slug"]) if owner is not None else None
        if project is None or not may(project, None, "can_read"):
            repos.transaction().end_read()
            return None
        return self.target_of(project, None), matched["rest"]

    @staticmethod
    def target_of(project: Project, pusher_id: Any) -> Target:
        target = Target(project_id=project.id, tenant_id=project.tenant_id, owner_id=project.user_id,
                        default_branch=project.github_default_branch or "main", path=repository_path(project),
                        chapters_directory=project.chapters_directory,
                        manuscript_directory=project.manuscript_directory, pusher_id=pusher_id)
        # Nothing of the database is needed while the pack streams: end the read transaction.
        repositories().transaction().end_read()
        return target

    # -- The transfer ----------------------------------------------------------------------

    def serve(self, environ: dict[str, Any], start_response: Any, target: Target, rest: str) -> Iterator[bytes]:
        if not target.path.is_dir():
            log.error("draftforge: project %s has no repository at %s", target.project_id, target.path)
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            yield (NOT_FOUND_MESSAGE + "\n").encode()
            return
        # dulwich sees the repository at "/" and the service as the whole path.
        environ["SCRIPT_NAME"] = (environ.get("SCRIPT_NAME") or "") + environ["PATH_INFO"][: -len(rest)]
        environ["PATH_INFO"] = rest
        if environ.get("wsgi.input_terminated") and environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            # The server (werkzeug, gunicorn) has already taken the chunking off the input.
            del environ["HTTP_TRANSFER_ENCODING"]
        repo = Repo(str(target.path))
        output = BufferedOutput(start_response)
        try:
            repo.hooks = {"update": UpdateHook(target), "post-receive": PostReceiveHook(target)}
            for chunk in make_wsgi_chain(OneRepository(repo), handlers=HANDLERS)(environ, output.start_response):
                output.flush()
                if chunk:
                    yield chunk
            output.flush()
        finally:
            repo.close()


class BufferedOutput:
    """dulwich writes a pkt-line at a time through WSGI's ``write``: thousands of tiny writes
    for a clone, each a chunk of its own on the socket. This gathers them into writes of
    ``limit`` bytes (the protocol is request/response over HTTP, nothing waits on a line)."""

    def __init__(self, start_response: Any, limit: int = 64 * 1024) -> None:
        self._start_response = start_response
        self._write: Any = None
        self._parts: list[bytes] = []
        self._size = 0
        self.limit = limit

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self._write = self._start_response(status, headers, exc_info) if exc_info else \
            self._start_response(status, headers)
        return self.write

    def write(self, data: bytes) -> None:
        self._parts.append(bytes(data))
        self._size += len(data)
        if self._size >= self.limit:
            self.flush()

    def flush(self) -> None:
        if self._parts and self._write is not None:
            data = b"".join(self._parts)
            self._parts, self._size = [], 0
            self._write(data)


# -- The push's hooks ----------------------------------------------------------------------

class UpdateHook:
    """dulwich's ``update`` hook: ``execute(ref, old, new) -> (stdout, stderr)``; raising
    ``HookError`` refuses that ref, its message the reason git shows."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def execute(self, ref: bytes, old: bytes, new: bytes) -> tuple[bytes, bytes]:
        if ref != self.target.default_ref:
            return b"", b""
        if new == ZERO_SHA:
            raise HookError(DELETE_REFUSED)
        if old != ZERO_SHA and not self.target.pusher_is_owner \
                and not self.target.manuscript().is_ancestor(old.decode(), new.decode()):
            raise HookError(FORCE_PUSH_REFUSED)
        return b"", b""


class PostReceiveHook:
    """dulwich's ``post-receive`` hook: ``execute([(old, new, ref), …])`` for the refs moved;
    what it returns is shown to the pusher as ``remote:`` lines."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def execute(self, updated: list[tuple[bytes, bytes, bytes]]) -> bytes | None:
        lines: list[str] = []
        for old, new, ref in updated:
            try:
                lines.extend(record_push(self.target, ref.decode(), None if old == ZERO_SHA else old.decode(),
                                         None if new == ZERO_SHA else new.decode()))
            except Exception:  # noqa: BLE001 - the ref has moved; the push must still be reported
                log.exception("draftforge: recording the push of %s to project %s failed", ref,
                              self.target.project_id)
                lines.append(f"Inkwright: the push of {ref.decode()} was stored but not fully recorded.")
        return "".join(line + "\n" for line in lines).encode() or None


def record_push(target: Target, ref: str, old: str | None, new: str | None) -> list[str]:
    """Record one moved ref: event and audit entry, then stats and agents (best effort)."""
    repos = repositories(target.tenant_id)
    manuscript = target.manuscript()
    on_default = ref == target.default_ref.decode()
    branch = ref.removeprefix(BRANCH_PREFIX.decode()) if ref.startswith(BRANCH_PREFIX.decode()) else None
    base = old
    if base is None and branch is not None and not on_default:
        base = manuscript.head()  # a new branch: what it changes against the default branch
    changed = manuscript.changed_paths(base, new) if new is not None else []
    forced = bool(old and new and not manuscript.is_ancestor(old, new))
    with repos.transaction() as unit:
        project = repos.get(ProjectRepository).require(target.project_id)
        payload = {"projectId": str(project.id), "ref": ref, "before": old, "after": new, "forced": forced,
                   "changed": changed[:500], "defaultBranch": on_default, "pusherId": str(target.pusher_id)
                   if target.pusher_id else None}
        unit.publish(DomainEvent(type="project.pushed", aggregate_id=str(project.id), payload=payload,
                                 tenant_id=project.tenant_id, actor_id=target.pusher_id))
        record_audit("project.push", "project", project.id,
                     metadata={"ref": ref, "before": old, "after": new, "forced": forced,
                               "changed_count": len(changed), "via": "git"})
    lines: list[str] = []
    if new is None or branch is None:
        return lines
    if on_default:
        update_stats(target, new)
    lines.extend(queue_agents(target, "commit" if on_default else "pr", new, changed))
    return lines


def update_stats(target: Target, sha: str) -> None:
    """The push's stats, on a worker (stats_jobs.py); the push stands whatever happens there."""
    try:
        project = repositories(target.tenant_id).get(ProjectRepository).require(target.project_id)
        queue_stats(project, sha, actor_id=target.pusher_id)
    except Exception:  # noqa: BLE001 - the refs have moved; a stats rebuild can catch up
        log.exception("draftforge: the stats of project %s were not queued for %s", target.project_id, sha)


def queue_agents(target: Target, trigger: str, sha: str, changed: list[str]) -> list[str]:
    """The agents the push starts, as lines git shows the pusher."""
    return [f"Inkwright: queued the {name} agent ({trigger}) for {sha[:12]}."
            for name in queue_triggered_agents(target.tenant_id, target.project_id, trigger, sha, changed)]
