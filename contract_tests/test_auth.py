"""Authentication: a missing or wrong API key gets the documented 401, on every operation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from . import checks
from .exchange import Auth, Exchange
from .session import ContractSession
from .strategies import minimal_body

Sender = Callable[[ContractSession, Auth], Exchange]

_SENDERS: dict[str, Sender] = {
    "create": lambda c, auth: c.create(minimal_body(c.spec.request_schema), auth=auth),
    "get": lambda c, auth: c.get_task(c.unknown_task_id(), auth=auth),
    "list": lambda c, auth: c.list_tasks(auth=auth),
}


def _refused(contract: ContractSession, operation_name: str, auth: Auth, example: str) -> None:
    operation = getattr(contract.spec, operation_name)
    exchange = _SENDERS[operation_name](contract, auth)
    problems = checks.check_answer(operation, exchange)
    if exchange.status != 401:
        problems.append(f"a request with {auth} API key got {exchange.status}, not 401")
    else:
        examples = contract.spec.examples(operation, "401")
        problems += checks.matches_documented_example(
            examples, exchange, checks.example_named(examples, example)
        )
    contract.verify(exchange, problems)


@pytest.mark.parametrize("operation_name", sorted(_SENDERS))
def test_missing_key_is_refused(contract: ContractSession, operation_name: str) -> None:
    if contract.compare is not None:
        pytest.skip("differential mode: only test_differential runs")
    _refused(contract, operation_name, "none", "missing")


@pytest.mark.parametrize("operation_name", sorted(_SENDERS))
def test_wrong_key_is_refused(contract: ContractSession, operation_name: str) -> None:
    if contract.compare is not None:
        pytest.skip("differential mode: only test_differential runs")
    if contract.target.kind in ("url", "asgi"):
        # A server under test may accept any key (the fake does unless started with
        # --api-key); that is configuration, not a contract failure.
        probe = _SENDERS["list"](contract, "wrong")
        if 200 <= probe.status < 300:
            contract.note(f"{contract.target.label} accepts any API key; wrong keys not checked")
            pytest.skip("the server accepts any API key (start it with --api-key to check this)")
    _refused(contract, operation_name, "wrong", "invalid")
