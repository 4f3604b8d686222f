"""Who may use the control API under /_mock."""

from __future__ import annotations

import pytest
from helpers import client_for

from mockserver import MockConfig, create_app

pytestmark = pytest.mark.anyio


async def test_control_api_answers_loopback_only_by_default() -> None:
    app = create_app(MockConfig(clock="manual"))
    async with (
        client_for(app, client=("10.1.2.3", 4000)) as remote,
        client_for(app, client=("127.0.0.1", 4000)) as local,
    ):
        refused = await remote.get("/_mock/requests")
        health = await remote.get("/_mock/health")
        allowed = await local.get("/_mock/requests")
    assert refused.status_code == 403
    assert "loopback" in refused.json()["message"]
    assert health.status_code == 200
    assert allowed.status_code == 200


async def test_a_control_token_replaces_the_loopback_rule() -> None:
    app = create_app(MockConfig(control_token="t0ken"))
    async with client_for(app, client=("10.1.2.3", 4000)) as remote:
        without = await remote.get("/_mock/requests")
        wrong = await remote.get("/_mock/requests", headers={"x-mock-control-token": "nope"})
        right = await remote.get("/_mock/requests", headers={"x-mock-control-token": "t0ken"})
    assert (without.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert "t0ken" not in without.text + wrong.text


async def test_control_off_removes_control_routes_but_not_health() -> None:
    app = create_app(MockConfig(control=False))
    async with client_for(app) as client:
        assert (await client.get("/_mock/requests")).status_code == 404
        assert (await client.get("/_mock/health")).status_code == 200
