"""What ``serve`` imports only at first use: rfc3987-syntax's grammar, httpx, jsonschema,
the test harnesses; and each still works, and is the real thing, once used."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import pytest
from jsonschema import Draft4Validator

from mockserver.lazy_imports import DeferredDraft4Validator, deferred_module

needs_rfc3987_syntax = pytest.mark.skipif(
    importlib.util.find_spec("rfc3987_syntax") is None, reason="rfc3987-syntax not installed"
)

PROGRAM = """
import sys
import mockserver
print("grammar built at import:", "rfc3987_syntax.syntax_helpers" in sys.modules)
from jsonschema import Draft7Validator
checker = Draft7Validator.FORMAT_CHECKER
print("iri accepted:", checker.conforms("http://例え.jp/a?b#c", "iri"))
print("junk refused:", not checker.conforms("not an iri", "iri"))
print("grammar built on use:", "rfc3987_syntax.syntax_helpers" in sys.modules)
import rfc3987_syntax
print("real module after use:", hasattr(rfc3987_syntax, "RFC3987_SYNTAX_TERMS"))
"""


@needs_rfc3987_syntax
def test_the_grammar_is_built_on_first_use_only() -> None:
    # A fresh interpreter: this test process has imported jsonschema long ago.
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "grammar built at import: False",
        "iri accepted: True",
        "junk refused: True",
        "grammar built on use: True",
        "real module after use: True",
    ]


SERVE_PROGRAM = """
import sys
import mockserver.cli
from mockserver.app import create_app
from mockserver.validation import RequestInvalid
app = create_app()
heavy = (
    "httpx", "respx", "jsonschema", "mockserver.testing", "sqlite3", "fractions",
    "fastjsonschema",
)
print("after start-up:", [name for name in heavy if name in sys.modules])
validator = app.state.mock.validators["postAiReferenceToVideoKlingV3OmniStd"]
print("valid:", validator.body(b'{"video_url": "https://example.com/a.mp4"}')["video_url"])
try:
    validator.body(b'{"video_url": "not a uri"}')
except RequestInvalid as exc:
    print("invalid:", [p.loc for p in exc.problems])
print("after an invalid body:", [name for name in heavy if name in sys.modules])
"""


def test_serve_start_up_imports_no_client_library_or_schema_library() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SERVE_PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "after start-up: []",
        "valid: https://example.com/a.mp4",
        "invalid: [('body', 'video_url')]",
        "after an invalid body: []",
    ]


def test_every_public_name_resolves_to_its_home() -> None:
    import mockserver
    from mockserver import FreepikMock, MockConfig, create_app, verify
    from mockserver.app import create_app as app_create_app
    from mockserver.config import MockConfig as config_mock_config
    from mockserver.testing import FreepikMock as testing_freepik_mock
    from mockserver.webhooks import verify as webhooks_verify

    assert (create_app, MockConfig, FreepikMock, verify) == (
        app_create_app,
        config_mock_config,
        testing_freepik_mock,
        webhooks_verify,
    )
    for name in mockserver.__all__:
        assert getattr(mockserver, name) is not None, name
    assert set(mockserver.__all__) <= set(dir(mockserver))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = mockserver.nothing_here


def test_a_deferred_module_is_the_real_one_on_use() -> None:
    deferred = deferred_module("json")
    assert deferred.dumps([1]) == "[1]"
    with pytest.raises(AttributeError):
        _ = deferred.no_such_function
    missing = deferred_module("no_module_of_this_name")  # nothing is imported yet
    with pytest.raises(ModuleNotFoundError):
        _ = missing.anything


def test_a_deferred_validator_reports_what_jsonschema_reports() -> None:
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    deferred = DeferredDraft4Validator(schema)
    instances: list[Any] = [{}, {"a": "x"}, {"a": 1}, []]
    for instance in instances:
        assert [e.message for e in deferred.iter_errors(instance)] == [
            e.message for e in Draft4Validator(schema).iter_errors(instance)
        ]
