"""Contract tests for Freepik's Kling 3 Omni video-to-video API, driven by the vendored spec.

Run them with ``freepik-mock contract`` (``python -m contract_tests``) or
``pytest --pyargs contract_tests --target ...``. The names below are for reuse in
your own tests: open a target, generate requests from the spec, compare servers,
replay recordings. Imports are lazy, so running the command loads nothing early.

PYTEST_DONT_REWRITE: the command imports this module before pytest starts, and it holds
no assertion (installed from a wheel, pytest would warn that it cannot rewrite it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .differential import DifferentialReport
    from .exchange import Exchange
    from .mutations import Mutation, invalid_bodies
    from .operations import ContractSpec
    from .recording import Recorder, load_recordings, replay
    from .strategies import boundary_bodies, valid_bodies
    from .targets import MissingApiKey, SpendCapReached, Target, TargetUnreachable, open_target

__all__ = [
    "ContractSpec",
    "DifferentialReport",
    "Exchange",
    "MissingApiKey",
    "Mutation",
    "Recorder",
    "SpendCapReached",
    "Target",
    "TargetUnreachable",
    "boundary_bodies",
    "invalid_bodies",
    "load_recordings",
    "open_target",
    "replay",
    "valid_bodies",
]

_HOME = {
    "ContractSpec": "operations",
    "DifferentialReport": "differential",
    "Exchange": "exchange",
    "MissingApiKey": "targets",
    "Mutation": "mutations",
    "Recorder": "recording",
    "SpendCapReached": "targets",
    "Target": "targets",
    "TargetUnreachable": "targets",
    "boundary_bodies": "strategies",
    "invalid_bodies": "mutations",
    "load_recordings": "recording",
    "open_target": "targets",
    "replay": "recording",
    "valid_bodies": "strategies",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
