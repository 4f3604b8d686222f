"""MockConfig: its defaults, the settings it refuses, and reading it from the environment."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import pytest
from helpers import our_imports

from mockserver.config import (
    ENV_PREFIX,
    MockConfig,
    SettingError,
    env_variables,
    unknown_env_variables,
)


def test_the_defaults_are_a_local_fake_that_accepts_any_key() -> None:
    config = MockConfig()
    assert (config.host, config.port) == ("127.0.0.1", 8080)
    assert config.api_keys == ()
    assert config.clock == "system"
    assert (config.in_progress_after, config.complete_after, config.failure_rate) == (1, 3, 0)
    assert config.signing == "freepik"
    assert config.webhook_retry_delays == (1.0, 2.0, 4.0, 8.0)
    assert (config.webhook_allow, config.webhook_allow_any) == ((), False)
    assert (config.control, config.control_token) == (True, None)
    assert (config.max_body_bytes, config.body_timeout) == (1024 * 1024, 30.0)
    assert config.media_check == "url"
    assert config.state is None


def test_replace_returns_a_new_config_and_checks_it() -> None:
    config = MockConfig()
    changed = config.replace(port=9000, clock="manual")
    assert (changed.port, changed.clock) == (9000, "manual")
    assert config.port == 8080
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.port = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="time_scale"):
        config.replace(time_scale=0)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"port": 70000}, "port must be within 0..65535 (0 picks a free one), not 70000"),
        ({"port": -1}, "port must be within 0..65535"),
        ({"host": ""}, "host cannot be empty"),
        ({"time_scale": 0}, "time_scale must be a number > 0, not 0"),
        ({"time_scale": math.nan}, "time_scale must be a number > 0, not nan"),
        ({"time_scale": math.inf}, "time_scale must be a number > 0, not inf"),
        ({"time_scale": 1e308}, "time_scale makes complete_after infinite"),
        ({"failure_rate": 1.5}, "failure_rate must be within 0..1"),
        ({"failure_rate": -0.1}, "failure_rate must be within 0..1"),
        ({"failure_rate": math.nan}, "failure_rate must be within 0..1"),
        (
            {"in_progress_after": 4, "complete_after": 3},
            "in_progress_after must be at most complete_after (3), not 4",
        ),
        ({"in_progress_after": -1}, "in_progress_after must be a number >= 0"),
        ({"complete_after": math.inf}, "complete_after must be a number >= 0, not inf"),
        ({"latency_ms": -1}, "latency_ms must be >= 0"),
        ({"webhook_retry_delays": (1.0, -1.0)}, "webhook_retry_delays must be numbers >= 0"),
        ({"webhook_retry_delays": (math.nan,)}, "webhook_retry_delays must be numbers >= 0"),
        ({"webhook_timeout": 0}, "webhook_timeout must be a number > 0"),
        ({"webhook_secrets": ("",)}, "webhook_secrets cannot be empty"),
        ({"webhook_allow": ("",)}, "webhook_allow cannot be an empty host"),
        ({"api_keys": ("k", " ")}, "api_keys cannot be empty or blank"),
        ({"control_token": ""}, "control_token cannot be empty"),
        ({"max_body_bytes": -1}, "max_body_bytes must be >= 0"),
        ({"max_header_bytes": 0}, "max_header_bytes must be > 0"),
        ({"body_timeout": 0}, "body_timeout must be a number > 0"),
        ({"keep_alive_timeout": -1}, "keep_alive_timeout must be a number > 0"),
        ({"journal_size": -1}, "journal_size must be >= 0"),
        ({"max_namespaces": 0}, "max_namespaces must be >= 1"),
        ({"media_max_bytes": 0}, "media_max_bytes must be > 0"),
    ],
)  # fmt: skip
def test_impossible_settings_are_refused_saying_which(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingError, match=re.escape(message)) as caught:
        MockConfig(**settings)
    assert caught.value.setting in settings


def test_standard_webhooks_signing_needs_a_secret_of_its_own() -> None:
    # The built-in default secret is not base64: say what to give, not what failed.
    with pytest.raises(SettingError) as caught:
        MockConfig(signing="standard-webhooks")
    assert caught.value.setting == "webhook_secrets"
    assert "signing=standard-webhooks" in str(caught.value)
    assert "'whsec_' followed by the base64" in str(caught.value)
    assert MockConfig(signing="standard-webhooks", webhook_secrets=("whsec_c2VjcmV0",))


def test_a_setting_error_can_name_settings_as_the_caller_spells_them() -> None:
    with pytest.raises(SettingError) as caught:
        MockConfig(in_progress_after=5)
    options = {"in_progress_after": "--in-progress-after", "complete_after": "--complete-after"}
    assert caught.value.render(options.__getitem__) == (
        "--in-progress-after must be at most --complete-after (3), not 5"
    )


def test_secrets_stay_out_of_repr() -> None:
    config = MockConfig(api_keys=("k-123",), webhook_secrets=("s-456",), control_token="t-789")
    for secret in ("k-123", "s-456", "t-789"):
        assert secret not in repr(config)


def env(**variables: str) -> dict[str, str]:
    return {ENV_PREFIX + name.upper(): value for name, value in variables.items()}


def test_from_env_reads_every_kind_of_field() -> None:
    config = MockConfig.from_env(
        env(
            host="0.0.0.0",  # str
            port="9001",  # int
            time_scale="0.5",  # float
            rate_limit="yes",  # bool
            access_log="on",
            clock="manual",  # Literal
            api_keys="k1, k2,,",  # tuple of str, blanks dropped
            webhook_retry_delays="0.5,1",  # tuple of float
            state="/tmp/state.db",  # str | None
            seed="7",  # int | None
            control_token="t0ken",  # str | None
            control="0",
        )
    )
    assert config.host == "0.0.0.0"
    assert config.port == 9001
    assert config.time_scale == 0.5
    assert config.rate_limit is True
    assert config.access_log is True
    assert config.clock == "manual"
    assert config.api_keys == ("k1", "k2")
    assert config.webhook_retry_delays == (0.5, 1.0)
    assert config.state == "/tmp/state.db"
    assert config.seed == 7
    assert config.control_token == "t0ken"
    assert config.control is False


def test_an_empty_optional_variable_means_none() -> None:
    assert MockConfig.from_env(env(seed="", media_root="")).seed is None
    assert MockConfig.from_env(env(media_root="")).media_root is None


@pytest.mark.parametrize("raw", ["1", "true", "YES", "On"])
def test_booleans_take_the_usual_words_for_true(raw: str) -> None:
    assert MockConfig.from_env(env(rate_limit=raw)).rate_limit is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", ""])
def test_booleans_take_the_usual_words_for_false(raw: str) -> None:
    assert MockConfig.from_env(env(access_log=raw)).access_log is False


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"port": "http"}, "FREEPIK_MOCK_PORT: 'http' is not an integer"),
        ({"time_scale": "fast"}, "FREEPIK_MOCK_TIME_SCALE: 'fast' is not a number"),
        ({"port": "99999"}, "FREEPIK_MOCK_PORT must be within 0..65535"),
        ({"no_control": "maybe"}, "FREEPIK_MOCK_NO_CONTROL: 'maybe' is not a boolean"),
        ({"rate_limit": "maybe"}, "FREEPIK_MOCK_RATE_LIMIT: 'maybe' is not a boolean"),
        ({"clock": "sundial"}, "FREEPIK_MOCK_CLOCK: 'sundial' is not one of system, manual"),
        ({"webhook_retry_delays": "1,x"}, "FREEPIK_MOCK_WEBHOOK_RETRY_DELAYS"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(variables: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MockConfig.from_env(env(**variables))


def test_overrides_win_over_the_environment_and_none_overrides_nothing() -> None:
    config = MockConfig.from_env(env(port="9001", host="0.0.0.0"), port=9002, host=None)
    assert (config.port, config.host) == (9002, "0.0.0.0")


def test_the_environment_checks_what_the_constructor_checks() -> None:
    with pytest.raises(SettingError, match=r"FREEPIK_MOCK_FAILURE_RATE must be within 0\.\.1"):
        MockConfig.from_env(env(failure_rate="2"))
    # A setting given as an override keeps its own name; only variables are renamed.
    with pytest.raises(SettingError, match=r"^failure_rate must"):
        MockConfig.from_env(env(failure_rate="0.5"), failure_rate=2.0)


@pytest.mark.parametrize(
    ("variables", "setting", "value"),
    [
        ({"api_key": "only"}, "api_keys", ("only",)),
        ({"api_key": "k1,k2"}, "api_keys", ("k1", "k2")),
        ({"webhook_secret": "s1"}, "webhook_secrets", ("s1",)),
        ({"webhook_allow": "hooks.example"}, "webhook_allow", ("hooks.example",)),
        ({"no_control": "1"}, "control", False),
        ({"no_control": "0"}, "control", True),
        ({"no_admin": "1"}, "control", False),
        ({"no_admin": "1", "control": "1"}, "control", True),  # the current name wins
        ({"no_rate_limit": "yes"}, "rate_limit", False),
    ],
)
def test_every_spelling_of_a_variable_by_the_readme_s_rule_is_read(
    variables: dict[str, str], setting: str, value: Any
) -> None:
    # The rule: FREEPIK_MOCK_ + the option, upper case (--api-key, --no-control).
    assert getattr(MockConfig.from_env(env(**variables)), setting) == value


@pytest.mark.parametrize(
    "variables",
    [{"api_key": "a", "api_keys": "b"}, {"control": "1", "no_control": "1"}],
)
def test_two_spellings_of_one_setting_at_once_are_refused(variables: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="are both set: they are one setting, set only one"):
        MockConfig.from_env(env(**variables))


def test_every_settable_field_has_a_variable() -> None:
    variables = env_variables()
    settable = {f.name for f in dataclasses.fields(MockConfig)} - {"webhook_transport"}
    assert set(variables.values()) == settable
    assert variables["FREEPIK_MOCK_API_KEY"] == "api_keys"
    assert variables["FREEPIK_MOCK_NO_ADMIN"] == "control"


def test_unknown_variables_are_named_with_the_closest_known_one() -> None:
    warnings = unknown_env_variables(
        {
            "FREEPIK_MOCK_API_KYE": "k",
            "FREEPIK_MOCK_NOCONTROL": "1",
            "FREEPIK_MOCK_CACHE_DIR": "/tmp/cache",  # a setting that is gone: no guess
            "FREEPIK_MOCK_PORT": "1",
            "FREEPIK_MOCK_NO_CONTROL": "1",
            "OTHER_API_KEY": "x",
        }
    )
    assert warnings == [
        "FREEPIK_MOCK_API_KYE is not a setting and is ignored (did you mean FREEPIK_MOCK_API_KEY?)",
        "FREEPIK_MOCK_CACHE_DIR is not a setting and is ignored",
        "FREEPIK_MOCK_NOCONTROL is not a setting and is ignored "
        "(did you mean FREEPIK_MOCK_NO_CONTROL?)",
    ]


def test_the_control_api_s_former_variables_still_count_unless_the_new_ones_are_set() -> None:
    former = MockConfig.from_env(env(admin_token="old", admin="false"))
    assert (former.control_token, former.control) == ("old", False)
    both = MockConfig.from_env(env(admin_token="old", control_token="new"))
    assert both.control_token == "new"


def test_the_webhook_transport_cannot_come_from_the_environment() -> None:
    assert MockConfig.from_env(env(webhook_transport="x")).webhook_transport is None
    assert unknown_env_variables(env(webhook_transport="x")) != []


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREEPIK_MOCK_PORT", "9010")
    assert MockConfig.from_env().port == 9010


def test_config_is_a_leaf_that_imports_none_of_the_server() -> None:
    # Reading settings (the CLI's --help, the pytest plugin) must not load the server.
    assert our_imports("mockserver.config") == set()
