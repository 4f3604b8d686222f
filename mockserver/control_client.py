"""A typed client for the fake's control API under ``/_mock``.

:class:`MockControl` moves the clock, decides how tasks end, adds faults and reads the
webhook log and the request journal, all over HTTP, so it works the same against an
in-process app and a live server (``freepik-mock serve``). The test handles in
:mod:`mockserver.testing` are ``MockControl``\\ s.

With ``namespace``, every call acts on that namespace of the fake (the
``x-freepik-mock-namespace`` header): its clock, tasks, faults, journal and webhooks;
the code under test sends :attr:`MockControl.headers` for its API requests to land there.

It knows the server only by its URLs (``constants.py``): it imports none of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .constants import CONTROL_PREFIX, CONTROL_TOKEN_HEADER, NAMESPACE_HEADER

if TYPE_CHECKING:
    import httpx

__all__ = ["MockControl", "MockControlError"]


class MockControlError(Exception):
    """The control API refused an operation (unknown task, illegal transition, ...)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message


class MockControl:
    """Operations of the control API, sent through ``http`` (its base URL is the fake's),
    on the fake's ``namespace`` (None: the default one)."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        control_token: str | None = None,
        namespace: str | None = None,
    ) -> None:
        self._http = http
        self.namespace = namespace
        if control_token is not None:
            self._http.headers[CONTROL_TOKEN_HEADER] = control_token
        if namespace is not None:
            self._http.headers[NAMESPACE_HEADER] = namespace

    @property
    def headers(self) -> dict[str, str]:
        """What an API request sends to be served in this handle's namespace (nothing
        for the default one): give them to the client of the code under test."""
        return {} if self.namespace is None else {NAMESPACE_HEADER: self.namespace}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, CONTROL_PREFIX + path, **kwargs)
        if response.is_error:
            try:
                message = str(response.json().get("message", response.text))
            except ValueError:
                message = response.text
            raise MockControlError(response.status_code, message)
        return response.json()

    # Time

    @property
    def now(self) -> float:
        """The fake's clock, Unix seconds."""
        return float(self._call("GET", "/clock")["now"])

    def advance(self, seconds: float, *, drain: bool = True) -> float:
        """Move the manual clock forward, apply every transition that came due, and
        (with ``drain``) wait for the webhooks that caused; return the new time.

        Use it as the ``sleep`` of a polling client: its waits then cost no time.
        """
        now = float(self._call("POST", "/clock/advance", json={"seconds": seconds})["now"])
        if drain:
            self.drain_webhooks()
        return now

    # Tasks

    def tasks(self) -> list[dict[str, Any]]:
        """Every task with its full record (status, outcome, request, webhook URL, ...)."""
        data: list[dict[str, Any]] = self._call("GET", "/tasks")["data"]
        return data

    def task(self, task_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", f"/tasks/{task_id}")["data"]
        return data

    def set_status(
        self, task_id: str, status: str, *, reason: str | None = None, drain: bool = True
    ) -> dict[str, Any]:
        """Move a task forward to ``status`` now (IN_PROGRESS, COMPLETED or FAILED)."""
        body: dict[str, Any] = {"status": status}
        if reason is not None:
            body["reason"] = reason
        data: dict[str, Any] = self._call("POST", f"/tasks/{task_id}/status", json=body)["data"]
        if drain:
            self.drain_webhooks()
        return data

    def complete(self, task_id: str, *, drain: bool = True) -> dict[str, Any]:
        """Finish a task now with its result."""
        return self.set_status(task_id, "COMPLETED", drain=drain)

    def fail(
        self, task_id: str, reason: str | None = None, *, drain: bool = True
    ) -> dict[str, Any]:
        """Fail a task now; ``reason`` goes to the journal (the API itself sends none)."""
        return self.set_status(task_id, "FAILED", reason=reason, drain=drain)

    # Faults

    def add_fault(
        self,
        *,
        status: int | None = None,
        method: str = "*",
        path: str = "*",
        times: int | None = 1,
        delay_ms: int = 0,
        drop: bool = False,
    ) -> dict[str, Any]:
        """Make the next ``times`` API requests matching ``method`` and the ``path`` glob
        answer ``status`` (in the API's error shape), wait ``delay_ms``, or lose their
        connection (``drop``). ``times=None`` keeps the fault until cleared."""
        body = {
            "status": status,
            "method": method,
            "path": path,
            "times": times,
            "delay_ms": delay_ms,
            "drop": drop,
        }
        data: dict[str, Any] = self._call("POST", "/faults", json=body)["data"]
        return data

    def faults(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._call("GET", "/faults")["data"]
        return data

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # Webhooks and the journal

    def webhooks(self, task_id: str | None = None) -> list[dict[str, Any]]:
        """The webhook delivery log: one entry per attempt, oldest first."""
        params = {"task_id": task_id} if task_id is not None else None
        data: list[dict[str, Any]] = self._call("GET", "/webhooks", params=params)["data"]
        return data

    def drain_webhooks(self) -> int:
        """Wait until no delivery attempt is in flight; return how many deliveries are
        still pending (retries wait for the clock)."""
        result = self._call("POST", "/webhooks/drain")
        if not result["drained"]:
            raise MockControlError(504, "webhook deliveries still in flight after 10 s")
        return int(result["pending"])

    def journal(
        self, kind: str | None = "request", limit: int | None = None
    ) -> list[dict[str, Any]]:
        """What clients sent and what the fake answered, oldest first (API keys are
        never recorded). ``kind="transition"`` lists status changes; ``None`` both."""
        params: dict[str, Any] = {}
        if kind is not None:
            params["kind"] = kind
        if limit is not None:
            params["limit"] = limit
        data: list[dict[str, Any]] = self._call("GET", "/requests", params=params)["data"]
        return data

    def reset(self) -> None:
        """Forget tasks, faults, deliveries and the journal (of this namespace only)."""
        self._call("POST", "/reset")

    # Namespaces

    def namespaces(self) -> list[dict[str, Any]]:
        """Every namespace the fake holds, with its number of tasks."""
        data: list[dict[str, Any]] = self._call("GET", "/namespaces")["data"]
        return data

    def delete_namespace(self, name: str | None = None) -> None:
        """Stop and forget namespace ``name`` (default: this handle's), so that it no
        longer counts towards the fake's ``max_namespaces``."""
        name = name if name is not None else self.namespace
        if name is None:
            raise ValueError("name a namespace: this handle uses the default one")
        self._call("DELETE", f"/namespaces/{name}")
