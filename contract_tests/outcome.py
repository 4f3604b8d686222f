"""What a contract run leaves behind for its command line: stash keys and exit codes.

Kept free of heavy imports so that ``python -m contract_tests`` can read it before
pytest starts (a plugin module imported early cannot have its asserts rewritten).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .differential import DifferentialReport
    from .session import Ledger

__all__ = ["DIFF_REPORT_KEY", "EXIT_UNREACHABLE", "EXIT_USAGE", "LEDGER_KEY"]

LEDGER_KEY: pytest.StashKey[Ledger] = pytest.StashKey()
DIFF_REPORT_KEY: pytest.StashKey[DifferentialReport] = pytest.StashKey()

# Exit codes beyond pytest's own (0-5).
EXIT_USAGE = 2
EXIT_UNREACHABLE = 6
