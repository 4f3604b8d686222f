"""The fake's settings: one typed, immutable object, shared by the app factory and the CLI.

Every setting can also come from an environment variable ``FREEPIK_MOCK_<NAME>``
(see :meth:`MockConfig.from_env`). Secrets are kept out of ``repr``.

A leaf module: the kinds of value a setting takes (``ClockMode``, ``SigningScheme``, ...)
and the limits' defaults are defined here, and the modules that act on them import them
from here, so that reading the settings (``freepik-mock serve --help``, a pytest plugin
that only parses markers) pulls in none of the server.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, get_args, get_origin

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADER_BYTES",
    "ENV_PREFIX",
    "ClockMode",
    "MediaCheckMode",
    "MockConfig",
    "Profile",
    "SettingError",
    "SigningScheme",
    "env_variables",
    "unknown_env_variables",
]

ENV_PREFIX = "FREEPIK_MOCK_"

# system: the wall clock; manual: frozen until moved (clock.py).
ClockMode = Literal["system", "manual"]
# Which source the fake's answers follow where they differ: the live API's recorded
# answers (observed) or the spec's examples (spec); see reasons.py.
Profile = Literal["observed", "spec"]
# Reference media checks (media.py): off, url (what the URL shows) or probe (download).
MediaCheckMode = Literal["off", "url", "probe"]
# freepik: the HMAC key is the secret's UTF-8 bytes; standard-webhooks: whsec_ base64.
SigningScheme = Literal["freepik", "standard-webhooks"]

# Limits on one request (limits.py).
DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
DEFAULT_BODY_TIMEOUT: Final = 30.0
DEFAULT_MAX_HEADER_BYTES: Final = 16 * 1024


@dataclass(frozen=True, slots=True)
class MockConfig:
    # Serving
    host: str = "127.0.0.1"
    port: int = 8080
    access_log: bool = False
    # The OpenAPI documents to obey; None means the vendored ones.
    spec_dir: Path | None = None
    # Auth: with no keys, any non-empty key is accepted.
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    # Whose answers to reproduce: "observed" (the live API's) or "spec" (its examples).
    profile: Profile = "observed"
    # Whose API it is: freepik (the spec's own key header) or magnific (the rebrand's
    # x-magnific-api-key); constants.BRANDS.
    brand: Literal["freepik", "magnific"] = "freepik"
    # Lifecycle: seconds after creation, each multiplied by time_scale.
    clock: ClockMode = "system"
    time_scale: float = 1.0
    in_progress_after: float = 1.0
    complete_after: float = 3.0
    failure_rate: float = 0.0
    seed: int | None = None
    # Webhooks
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    signing: SigningScheme = "freepik"
    webhook_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    webhook_timeout: float = 10.0
    webhook_allow: tuple[str, ...] = ()
    webhook_allow_any: bool = False
    # A transport for webhook deliveries (in-process receivers); not settable from env.
    webhook_transport: httpx.AsyncBaseTransport | None = field(
        default=None, repr=False, compare=False
    )
    # Faults and limits
    latency_ms: int = 0
    rate_limit: bool = False
    # The control API under /_mock (control_api.py): off, or behind a token.
    control: bool = True
    control_token: str | None = field(default=None, repr=False)
    journal_size: int = 1000
    webhook_log_size: int = 10_000
    # How many namespaces (x-freepik-mock-namespace) one fake holds, the default included.
    max_namespaces: int = 1000
    # Limits on one client (limits.py); the last two apply to `serve` (uvicorn's).
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    keep_alive_timeout: float = 5.0
    # The HTTP implementation `serve` runs: httptools when installed (auto), or h11.
    http: Literal["auto", "httptools", "h11"] = "auto"
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    # Where state lives: None (this process's memory), a SQLite file path, or a Redis
    # URL (redis://host:port/db); a file or Redis is shared by every process naming it.
    state: str | None = None
    # Processes serving one socket (`serve --workers`); more than one needs shared state.
    workers: int = 1
    # Reference media checks (media.py): off, url (what the URL shows) or probe (download).
    media_check: MediaCheckMode = "url"
    # file:// media URLs are read from under this folder only; None refuses them.
    media_root: Path | None = None
    media_max_bytes: int = 200 * 1024 * 1024
    # How long a result URL works after the answer that handed it out, on the fake's clock.
    result_url_ttl: float = 3600.0

    def __post_init__(self) -> None:
        for check in _CHECKS:
            check(self)

    def replace(self, **changes: Any) -> MockConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> MockConfig:
        """Settings from ``FREEPIK_MOCK_*`` variables; ``overrides`` win over them.

        Tuples are comma-separated (``FREEPIK_MOCK_API_KEYS=k1,k2``); booleans take
        1/0, true/false, yes/no, on/off. Each setting also reads the spellings of
        :func:`env_variables` (``FREEPIK_MOCK_API_KEY``, ``FREEPIK_MOCK_NO_CONTROL=1``).
        A bad value raises ``ValueError`` naming the variable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        read_from: dict[str, str] = {}
        for name, hint in _env_hints(cls).items():
            found = _variable_set(name, hint, env)
            if found is None:
                continue
            spelling, raw = found
            try:
                value = _parse(hint, raw)
            except ValueError as exc:
                raise ValueError(f"{spelling.variable}: {exc}") from None
            values[name] = not value if spelling.negated else value
            read_from[name] = spelling.variable
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        try:
            return cls(**values)
        except SettingError as exc:
            raise exc.labelled({k: v for k, v in read_from.items() if k not in given}) from None


class SettingError(ValueError):
    """A setting that cannot work: which one (a field name) and why.

    ``problem`` may name other settings as ``{field}``; :meth:`render` puts a label in
    for each (an option, a variable), so that the command line can say ``--port`` where
    Python code says ``port``.
    """

    def __init__(self, setting: str, problem: str, labels: Mapping[str, str] | None = None):
        self.setting = setting
        self.problem = problem
        self.labels = dict(labels or {})
        super().__init__(self.render())

    def render(self, label: Callable[[str], str] = str) -> str:
        """The message, each setting named by ``labels``, else by ``label(field)``."""

        def name(field_name: str) -> str:
            return self.labels.get(field_name) or label(field_name)

        names = _FieldNames(name)
        return f"{name(self.setting)} {self.problem.format_map(names)}"

    def labelled(self, labels: Mapping[str, str]) -> SettingError:
        """The same error with ``labels`` for the settings they name."""
        return SettingError(self.setting, self.problem, {**labels, **self.labels})


class _FieldNames(dict[str, str]):
    def __init__(self, name: Callable[[str], str]) -> None:
        super().__init__()
        self._name = name

    def __missing__(self, key: str) -> str:
        return self._name(key)


def _number(config: MockConfig, name: str, *, above: float | None = None) -> float:
    """The numeric setting ``name``, refused unless finite and ``>= 0`` (``> above``)."""
    value = getattr(config, name)
    if not math.isfinite(value) or value < 0 or (above is not None and value <= above):
        bound = f"> {above:g}" if above is not None else ">= 0"
        raise SettingError(name, f"must be a number {bound}, not {value!r}")
    return float(value)


def _check_serving(config: MockConfig) -> None:
    if not config.host:
        raise SettingError("host", "cannot be empty (0.0.0.0 listens on every interface)")
    if not 0 <= config.port <= 65535:
        raise SettingError(
            "port", f"must be within 0..65535 (0 picks a free one), not {config.port}"
        )


def _check_lifecycle(config: MockConfig) -> None:
    scale = _number(config, "time_scale", above=0)
    start = _number(config, "in_progress_after")
    finish = _number(config, "complete_after")
    if start > finish:
        raise SettingError(
            "in_progress_after",
            f"must be at most {{complete_after}} ({finish:g}), not {start:g}",
        )
    if not math.isfinite(finish * scale):
        raise SettingError("time_scale", f"makes {{complete_after}} infinite: {scale!r}")
    if not 0.0 <= config.failure_rate <= 1.0:
        raise SettingError("failure_rate", f"must be within 0..1, not {config.failure_rate!r}")


def _check_webhooks(config: MockConfig) -> None:
    for delay in config.webhook_retry_delays:
        if not (math.isfinite(delay) and delay >= 0):
            raise SettingError(
                "webhook_retry_delays", f"must be numbers >= 0 (retry delays), not {delay!r}"
            )
    _number(config, "webhook_timeout", above=0)
    if any(not secret for secret in config.webhook_secrets):
        raise SettingError("webhook_secrets", "cannot be empty")
    if config.signing == "standard-webhooks" and not config.webhook_secrets:
        raise SettingError(
            "webhook_secrets",
            "is needed by {signing}=standard-webhooks: give a secret 'whsec_' followed by "
            "the base64 of its key (the built-in default secret is not one)",
        )
    if any(not host for host in config.webhook_allow):
        raise SettingError("webhook_allow", "cannot be an empty host")


def _check_access(config: MockConfig) -> None:
    # An empty key is never sent (the API takes it for a missing one), and an empty
    # token would be matched by a request without the header: neither can be meant.
    if any(not key.strip() for key in config.api_keys):
        raise SettingError("api_keys", "cannot be empty or blank")
    if config.control_token is not None and not config.control_token:
        raise SettingError("control_token", "cannot be empty (leave it unset for loopback only)")


def _check_state(config: MockConfig) -> None:
    if isinstance(config.state, os.PathLike):  # a Path from Python callers: kept as text
        object.__setattr__(config, "state", os.fspath(config.state))
    if config.state == "":
        raise SettingError("state", "cannot be empty (leave it unset to keep state in memory)")
    if config.workers < 1:
        raise SettingError("workers", f"must be at least 1, not {config.workers}")
    if config.workers > 1 and config.state is None:
        raise SettingError(
            "workers",
            f"{config.workers} needs shared state: give {{state}} a SQLite file or a "
            "redis://host:port/db URL (in memory, each worker would hold tasks of its own)",
        )


def _check_limits(config: MockConfig) -> None:
    if config.latency_ms < 0:
        raise SettingError("latency_ms", f"must be >= 0, not {config.latency_ms}")
    if config.max_body_bytes < 0:
        raise SettingError("max_body_bytes", f"must be >= 0, not {config.max_body_bytes}")
    if config.max_header_bytes <= 0:
        raise SettingError("max_header_bytes", f"must be > 0, not {config.max_header_bytes}")
    _number(config, "body_timeout", above=0)
    _number(config, "keep_alive_timeout", above=0)
    _number(config, "result_url_ttl", above=0)
    for name in ("journal_size", "webhook_log_size"):
        if getattr(config, name) < 0:
            raise SettingError(name, f"must be >= 0, not {getattr(config, name)}")
    if config.max_namespaces < 1:
        raise SettingError(
            "max_namespaces", f"must be >= 1 (the default namespace), not {config.max_namespaces}"
        )
    if config.media_max_bytes <= 0:
        raise SettingError("media_max_bytes", f"must be > 0, not {config.media_max_bytes}")


_CHECKS: tuple[Callable[[MockConfig], None], ...] = (
    _check_serving,
    _check_lifecycle,
    _check_webhooks,
    _check_access,
    _check_limits,
    _check_state,
)


def _env_hints(cls: type[MockConfig]) -> dict[str, Any]:
    """The type of each field settable from the environment. ``webhook_transport`` is
    not, and evaluating its hint would import httpx (35 ms of start-up)."""
    namespace = vars(sys.modules[cls.__module__])
    return {
        item.name: eval(item.type, namespace) if isinstance(item.type, str) else item.type
        for item in dataclasses.fields(cls)
        if item.name != "webhook_transport"
    }


# Settings renamed since: the old variable still counts when no current spelling is set,
# so that deployments keep working (the CLI keeps the old options the same way).
_FORMER_NAMES = {"control": "ADMIN", "control_token": "ADMIN_TOKEN"}
# Repeatable options, spelled in the singular by `serve` (--api-key): their variables
# too, beside the field's plural.
_SINGULAR_NAMES = {"api_keys": "API_KEY", "webhook_secrets": "WEBHOOK_SECRET"}


@dataclass(frozen=True, slots=True)
class _Spelling:
    variable: str
    # NO_<NAME>: a flag `serve` spells --no-X; its value is the setting's opposite.
    negated: bool = False
    former: bool = False


def _spellings(name: str, hint: Any) -> list[_Spelling]:
    """Every variable that sets ``name``: the current ones first, then the former."""
    bases = [(name.upper(), False)]
    if name in _SINGULAR_NAMES:
        bases.append((_SINGULAR_NAMES[name], False))
    if name in _FORMER_NAMES:
        bases.append((_FORMER_NAMES[name], True))
    found: list[_Spelling] = []
    for base, former in bases:
        found.append(_Spelling(ENV_PREFIX + base, former=former))
        if hint is bool:
            found.append(_Spelling(ENV_PREFIX + "NO_" + base, negated=True, former=former))
    return sorted(found, key=lambda spelling: spelling.former)


def _variable_set(name: str, hint: Any, env: Mapping[str, str]) -> tuple[_Spelling, str] | None:
    """The spelling of ``name`` set in ``env`` and its raw value; two current spellings
    at once are refused (which would win is anyone's guess)."""
    spellings = _spellings(name, hint)
    for former in (False, True):
        given = [s for s in spellings if s.former is former and s.variable in env]
        if len(given) > 1:
            both = " and ".join(s.variable for s in given)
            raise ValueError(f"{both} are both set: they are one setting, set only one")
        if given:
            return given[0], env[given[0].variable]
    return None


def env_variables() -> dict[str, str]:
    """Every variable :meth:`MockConfig.from_env` reads, with the setting it sets."""
    return {
        spelling.variable: name
        for name, hint in _env_hints(MockConfig).items()
        for spelling in _spellings(name, hint)
    }


def unknown_env_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each ``FREEPIK_MOCK_*`` variable that sets nothing (a typo, or a
    setting that is gone), with the closest known name when one is close."""
    env = os.environ if environ is None else environ
    known = env_variables()
    warnings = []
    for variable in sorted(env):
        if not variable.startswith(ENV_PREFIX) or variable in known:
            continue
        # Compared without the prefix they all share, which would make any two look close.
        names = {
            known_variable.removeprefix(ENV_PREFIX): known_variable for known_variable in known
        }
        import difflib  # only for a variable that is not a setting

        close = difflib.get_close_matches(variable.removeprefix(ENV_PREFIX), names, 1, 0.75)
        hint = f" (did you mean {names[close[0]]}?)" if close else ""
        warnings.append(f"{variable} is not a setting and is ignored{hint}")
    return warnings


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse(hint: Any, raw: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin is tuple:
        return tuple(_parse(args[0], part.strip()) for part in raw.split(",") if part.strip())
    if origin is Literal:
        if raw not in args:
            raise ValueError(f"{raw!r} is not one of {', '.join(map(str, args))}")
        return raw
    if args and type(None) in args:  # X | None
        inner = next(a for a in args if a is not type(None))
        return None if raw == "" else _parse(inner, raw)
    if hint is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ValueError(f"{raw!r} is not a boolean")
    if hint is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not an integer") from None
    if hint is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
    if hint in (str, Path):
        return hint(raw)
    raise ValueError(f"cannot read a {hint} from the environment")
