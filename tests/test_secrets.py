"""API keys, webhook secrets and the control token never show up in any output."""

from __future__ import annotations

import asyncio
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import CREATE_PATH, LIST_PATH, VALID_BODY, Receiver, serve_fake

from mockserver import MockConfig, create_app

API_KEY = "sk-test-APIKEY-1b7e9f0c2d"
OTHER_KEY = "sk-test-OTHERKEY-55aa01"
ENV_KEY = "sk-test-ENVKEY-77c3e1"
WEBHOOK_SECRET = "whsec-test-SECRET-4f2a9d"
CONTROL_TOKEN = "control-test-TOKEN-93be1c"
SECRETS = (API_KEY, OTHER_KEY, ENV_KEY, WEBHOOK_SECRET, CONTROL_TOKEN)


def assert_no_secret(where: str, text: str | bytes) -> None:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    for secret in SECRETS:
        assert secret.encode() not in data, f"{secret!r} leaked into {where}"


def test_reprs_hide_secrets() -> None:
    config = MockConfig(
        api_keys=(API_KEY, OTHER_KEY),
        webhook_secrets=(WEBHOOK_SECRET,),
        control_token=CONTROL_TOKEN,
    )
    app = create_app(config)
    runtime = app.state.mock
    for name, value in [
        ("repr(config)", repr(config)),
        ("str(config)", str(config)),
        ("repr(runtime)", repr(runtime)),
        ("repr(webhooks)", repr(runtime.webhooks)),
    ]:
        assert_no_secret(name, value)
    assert "api_keys" not in repr(config)


@pytest.mark.slow
def test_served_outputs_never_contain_secrets(tmp_path: Path, receiver: Receiver) -> None:
    state = tmp_path / "state.db"
    outputs: list[tuple[str, str | bytes]] = []
    args = (
        "--api-key", API_KEY, "--api-key", OTHER_KEY,
        "--webhook-secret", WEBHOOK_SECRET,
        "--control-token", CONTROL_TOKEN,
        "--access-log", "--clock", "manual", "--state", str(state),
    )  # fmt: skip
    env = {"FREEPIK_MOCK_API_KEYS": ENV_KEY}  # overridden by --api-key, never printed either
    control = {"x-mock-control-token": CONTROL_TOKEN}
    with serve_fake(tmp_path, *args, env=env) as fake, fake.client() as client:

        def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
            response = client.request(method, path, **kwargs)
            outputs.append((f"{method} {path} response", response.text))
            outputs.append((f"{method} {path} headers", str(response.headers)))
            return response

        body = {**VALID_BODY, "webhook_url": receiver.url}
        created = call("POST", CREATE_PATH, json=body, headers={"x-freepik-api-key": API_KEY})
        assert created.status_code == 200
        task_id = created.json()["data"]["task_id"]
        # Every kind of refusal and error the fake can give.
        call("POST", CREATE_PATH, json=body, headers={"x-freepik-api-key": ENV_KEY})
        call("POST", CREATE_PATH, json=body, headers={"x-freepik-api-key": API_KEY + "x"})
        call("POST", CREATE_PATH, json=body)
        call("POST", CREATE_PATH, content=b"{", headers={"x-freepik-api-key": OTHER_KEY})
        call("POST", CREATE_PATH, json={"video_url": 1}, headers={"x-freepik-api-key": API_KEY})
        call("GET", f"{LIST_PATH}/{task_id}", headers={"x-freepik-api-key": OTHER_KEY})
        call("GET", LIST_PATH, params={"page": "0"}, headers={"x-freepik-api-key": API_KEY})
        call("GET", "/_mock/requests", headers={"x-mock-control-token": CONTROL_TOKEN[:-1]})
        call("POST", "/_mock/faults", json={"status": 500, "path": "/v1/*"}, headers=control)
        call("GET", LIST_PATH, headers={"x-freepik-api-key": API_KEY})
        advanced = call("POST", "/_mock/clock/advance", json={"seconds": 60}, headers=control)
        assert advanced.is_success
        assert receiver.wait_for(2)
        call("POST", "/_mock/webhooks/drain", headers=control)
        journal = call("GET", "/_mock/requests", headers=control)
        assert len(journal.json()["data"]) >= 10
        webhook_log = call("GET", "/_mock/webhooks", headers=control)
        assert len(webhook_log.json()["data"]) == 2
        call("GET", f"/_mock/tasks/{task_id}", headers=control)
        call("GET", "/_mock/tasks", headers=control)
        assert fake.stop() == 0
        outputs.append(("server stdout/stderr", fake.output()))
    for headers, payload in receiver.received:
        outputs.append(("webhook headers", json.dumps(headers)))
        outputs.append(("webhook body", payload))
    for path in tmp_path.iterdir():
        if path.name.startswith("state.db"):
            outputs.append((f"state file {path.name}", path.read_bytes()))
    assert any("POST" in str(text) for _, text in outputs if _ == "server stdout/stderr")
    for where, text in outputs:
        assert_no_secret(where, text)


def test_start_up_errors_hide_secrets() -> None:
    # A secret that is not base64 under the standard-webhooks scheme is refused at start.
    with pytest.raises(ValueError) as caught:
        create_app(MockConfig(webhook_secrets=(WEBHOOK_SECRET,), signing="standard-webhooks"))
    assert_no_secret("start-up error", str(caught.value))
    assert_no_secret("start-up error cause", repr(caught.value.__cause__))


def test_keys_and_the_control_token_are_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(hmac, "compare_digest", spy)  # what api.py and control_api.py call
    config = MockConfig(api_keys=(API_KEY,), control_token=CONTROL_TOKEN)

    async def run() -> list[int]:
        app = create_app(config)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            token = "x-mock-control-token"
            statuses = [
                (await c.get(LIST_PATH, headers={"x-freepik-api-key": API_KEY})).status_code,
                (await c.get(LIST_PATH, headers={"x-freepik-api-key": API_KEY[:-1]})).status_code,
                (await c.get("/_mock/tasks", headers={token: CONTROL_TOKEN})).status_code,
                (await c.get("/_mock/tasks", headers={token: "x"})).status_code,
                (await c.get("/_mock/tasks", headers={token.encode(): b"\xe9"})).status_code,
                (await c.get("/_mock/tasks")).status_code,
            ]
        await app.state.mock.shutdown()
        return statuses

    assert asyncio.run(run()) == [200, 401, 200, 401, 401, 401]
    assert (API_KEY.encode(), API_KEY.encode()) in compared
    assert (CONTROL_TOKEN.encode(), CONTROL_TOKEN.encode()) in compared
    assert (b"x", CONTROL_TOKEN.encode()) in compared
