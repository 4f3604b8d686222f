"""Importing mockserver does not build rfc3987-syntax's grammar; using it still works."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
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
