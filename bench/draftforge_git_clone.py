"""How long ``git clone`` of a DraftForge manuscript takes through the studio's git remote
(dulwich's smart HTTP at ``/git/<username>/<slug>.git``) against ``git clone file://`` of the
same bare repository (goal: ≤ 3× slower).

The manuscript is synthetic: ``--chapters`` chapters of ``--words`` words in all, written in a
first commit, then ``--commits`` - 1 commits through the studio's own writer
(``ManuscriptRepository.commit_changes``), each adding a paragraph to one chapter — so its
objects are loose, as the studio leaves them. ``--packed`` repacks the repository first (what
``git gc`` or a run of pushes leaves). The app is a real one (SQLite, an embedded Redis, the
plugin installed), served on loopback by werkzeug in a thread; each clone is the real
``/usr/bin/git``, ``--repeat`` times, and the best of each is printed with their ratio.

Run: ``.venv/bin/python -m bench.draftforge_git_clone [--commits 300] [--chapters 40] [--words 100000]
[--repeat 3] [--packed]``
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PLUGIN = Path(__file__).resolve().parent.parent / "plugins" / "draftforge"
sys.path.insert(0, str(PLUGIN))

from flask import g  # noqa: E402
from inkwright_draftforge.manuscript_values import Author, Put  # noqa: E402
from inkwright_draftforge.projects import ProjectService  # noqa: E402
from inkwright_draftforge.repository_store import open_manuscript, repository_path  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.api_keys import ApiKeyService  # noqa: E402
from app.auth.principal import Principal  # noqa: E402
from app.migrations import upgrade_all  # noqa: E402
from app.models import Role  # noqa: E402
from app.redis_server import RedisServer  # noqa: E402
from app.runtime import auth_service, current_state, repositories  # noqa: E402

GIT = "/usr/bin/git"
GOAL_RATIO = 3.0
WORDS = ("the sea rose against the rocks and she walked on past the lighthouse keeper who had not slept "
         "since the storm began a letter in her coat said nothing of the ship or of the harbour lights").split()


def paragraph(chance: random.Random, words: int) -> str:
    text = " ".join(chance.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def chapter(chance: random.Random, number: int, words: int) -> str:
    paragraphs = [paragraph(chance, 80) for _ in range(max(1, words // 80))]
    return f"# Chapter {number}\n\n" + "\n\n".join(paragraphs) + "\n"


def git_env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C"}


def best_clone(url: str, work: Path, env: dict[str, str], repeat: int) -> float:
    times = []
    for attempt in range(repeat):
        target = work / f"clone-{time.monotonic_ns()}-{attempt}"
        started = time.perf_counter()
        subprocess.run([GIT, "clone", "-q", url, str(target)], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--chapters", type=int, default=40)
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--packed", action="store_true", help="repack the repository before cloning")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="draftforge-git-bench-") as folder:
        work = Path(folder)
        redis_server = RedisServer().start()
        try:
            config = {"ENV": "testing", "SECRET_KEY": "draftforge-git-bench-secret-key-long-enough",
                      "DATABASE_URL": f"sqlite:///{work / 'bench.db'}", "REDIS_URL": redis_server.url,
                      "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8, "LOG_LEVEL": "WARNING",
                      "EXTERNAL_URL": "http://127.0.0.1"}
            app = create_app(config, instance_path=str(work / "instance"))
            with app.app_context():
                upgrade_all()
                service = auth_service()
                user = service.register("bench@example.com", "a long enough password", "Bench Writer")
                tenant_id = service.default_tenant(user)
            with app.test_request_context():
                user = repositories().users.get(user.id)
                principal = Principal(user, tenant_id, Role.OWNER, "session")
                g.inkwright_principal = principal
                project = ProjectService(principal, current_state().clock).create(
                    name="The Long Book", slug="the-long-book", project_type="novel")
                secret = ApiKeyService(repositories(), principal).create("bench").secret
                username = repositories().users.get(user.id).username
                path = repository_path(project)
                manuscript = open_manuscript(project)
                author = Author("Bench Writer", "bench@example.com")
                chance = random.Random(3)
                per_chapter = options.words // options.chapters
                names = [f"chapters/{n:02d}-chapter-{n}.md" for n in range(1, options.chapters + 1)]
                texts = {name: chapter(chance, n, per_chapter) for n, name in enumerate(names, start=1)}
                started = time.perf_counter()
                manuscript.commit_changes([Put(name, text) for name, text in texts.items()], author,
                                          "The first draft", base=None)
                for number in range(1, options.commits):
                    name = chance.choice(names)
                    texts[name] += "\n" + paragraph(chance, 60) + "\n"
                    manuscript.commit_changes([Put(name, texts[name])], author, f"Revise {name} ({number})",
                                              base=None)
                built = time.perf_counter() - started
            home = work / "home"
            home.mkdir()
            env = git_env(home)
            if options.packed:
                subprocess.run([GIT, "-C", str(path), "repack", "-a", "-d", "-q"], env=env, check=True)
            count = subprocess.run([GIT, "-C", str(path), "rev-list", "--count", "HEAD"], env=env, check=True,
                                   capture_output=True, text=True).stdout.strip()

            server = make_server("127.0.0.1", 0, app, threaded=True)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                http_url = f"http://x:{secret}@127.0.0.1:{server.server_port}/git/{username}/the-long-book.git"
                over_http = best_clone(http_url, work, env, options.repeat)
                over_file = best_clone(f"file://{path}", work, env, options.repeat)
            finally:
                server.shutdown()
                thread.join(5)
        finally:
            redis_server.stop()

    ratio = over_http / over_file
    layout = "packed" if options.packed else "loose objects, as the studio writes them"
    print(f"manuscript: {options.chapters} chapters, {options.words:,} words, {count} commits ({layout}); "
          f"built in {built:.1f} s")
    print(f"git clone over the studio (dulwich smart HTTP): {over_http * 1000:8.0f} ms  (best of {options.repeat})")
    print(f"git clone over file://:                         {over_file * 1000:8.0f} ms  (best of {options.repeat})")
    print(f"ratio: {ratio:.2f}x  (goal <= {GOAL_RATIO:.0f}x: {'met' if ratio <= GOAL_RATIO else 'NOT met'})")


if __name__ == "__main__":
    main()
