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
import os
import sys
from collections.abc import Mapping
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
    "SigningScheme",
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
    # Limits on one client (limits.py); the last two apply to `serve` (uvicorn's).
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    keep_alive_timeout: float = 5.0
    # The HTTP implementation `serve` runs: httptools when installed (auto), or h11.
    http: Literal["auto", "httptools", "h11"] = "auto"
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    # A SQLite file keeping tasks and pending webhooks across restarts; None: memory only.
    state: Path | None = None
    # Reference media checks (media.py): off, url (what the URL shows) or probe (download).
    media_check: MediaCheckMode = "url"
    # file:// media URLs are read from under this folder only; None refuses them.
    media_root: Path | None = None
    media_max_bytes: int = 200 * 1024 * 1024
    # How long a result URL works after the answer that handed it out, on the fake's clock.
    result_url_ttl: float = 3600.0

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be within 0..1")
        if not 0 <= self.in_progress_after <= self.complete_after:
            raise ValueError("need 0 <= in_progress_after <= complete_after")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if any(delay < 0 for delay in self.webhook_retry_delays):
            raise ValueError("webhook retry delays must be >= 0")
        if self.max_body_bytes < 0 or self.max_header_bytes <= 0:
            raise ValueError("max_body_bytes must be >= 0 and max_header_bytes > 0")
        if not 0 < self.result_url_ttl < float("inf"):
            raise ValueError("result_url_ttl must be a positive number of seconds")
        if self.body_timeout <= 0 or self.keep_alive_timeout <= 0:
            raise ValueError("body_timeout and keep_alive_timeout must be > 0")

    def replace(self, **changes: Any) -> MockConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> MockConfig:
        """Settings from ``FREEPIK_MOCK_*`` variables; ``overrides`` win over them.

        Tuples are comma-separated (``FREEPIK_MOCK_API_KEYS=k1,k2``); booleans take
        1/0, true/false, yes/no, on/off.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, hint in _env_hints(cls).items():
            variable = ENV_PREFIX + name.upper()
            raw = env.get(variable)
            if raw is None and name in _FORMER_NAMES:
                variable = ENV_PREFIX + _FORMER_NAMES[name]
                raw = env.get(variable)
            if raw is not None:
                try:
                    values[name] = _parse(hint, raw)
                except ValueError as exc:
                    raise ValueError(f"{variable}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _env_hints(cls: type[MockConfig]) -> dict[str, Any]:
    """The type of each field settable from the environment. ``webhook_transport`` is
    not, and evaluating its hint would import httpx (35 ms of start-up)."""
    namespace = vars(sys.modules[cls.__module__])
    return {
        item.name: eval(item.type, namespace) if isinstance(item.type, str) else item.type
        for item in dataclasses.fields(cls)
        if item.name != "webhook_transport"
    }


# Settings renamed since: the old variable still counts when the new one is not set,
# so that deployments keep working (the CLI keeps the old options the same way).
_FORMER_NAMES = {"control": "ADMIN", "control_token": "ADMIN_TOKEN"}

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
    if hint in (int, float, str, Path):
        return hint(raw)
    raise ValueError(f"cannot read a {hint} from the environment")
