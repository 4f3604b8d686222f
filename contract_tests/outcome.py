"""What a contract run leaves behind for its command line: stash keys and exit codes.

Kept free of heavy imports so that ``python -m contract_tests`` can read it before
pytest starts (a plugin module imported early cannot have its asserts rewritten).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Literal, get_args

import pytest

if TYPE_CHECKING:
    from .differential import DifferentialReport
    from .session import Ledger

__all__ = [
    "DIFF_REPORT_KEY",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "LEDGER_KEY",
    "PROFILES",
    "PROGRESS_KEY",
    "ProfileName",
]

LEDGER_KEY: pytest.StashKey[Ledger] = pytest.StashKey()
DIFF_REPORT_KEY: pytest.StashKey[DifferentialReport] = pytest.StashKey()
# Told the name of the check after each request it sends (the command's progress lines).
PROGRESS_KEY: pytest.StashKey[Callable[[str], None]] = pytest.StashKey()

# What the checks expect (profiles.py says what each means).
ProfileName = Literal["observed", "spec"]
PROFILES: Final[tuple[ProfileName, ...]] = get_args(ProfileName)

# Exit codes beyond pytest's own (0-5).
EXIT_USAGE = 2
EXIT_UNREACHABLE = 6
