"""Webhook delivery: queued per task, sent the way Freepik sends them, retried, logged.

Deliveries run in the background: an API response never waits for one. Each task's
webhooks go out in order, one at a time, to hosts the
:class:`~mockserver.hosts.WebhookHostPolicy` allows; a failed attempt (non-2xx, timeout,
connection error) is retried on the clock with the configured delays, keeping the same
``webhook-id`` and signing each attempt afresh (``signing.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import importlib
import itertools
import json
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .clock import Clock
from .config import SigningScheme
from .hosts import WebhookHostPolicy
from .signing import DEFAULT_WEBHOOK_SECRET, sign, signing_key
from .tasks import FAILED, Transition

if TYPE_CHECKING:
    # Imported where the first delivery needs it: a fake that sends no webhook (most
    # `serve` runs) does not pay httpx's 30-50 ms of start-up.
    import httpx

__all__ = [
    "Delivery",
    "WebhookDispatcher",
]

# Delivery attempts in flight at once (see WebhookDispatcher._pump): httpx's own
# connection limit, so that none waits in its pool.
_MAX_IN_FLIGHT = 100
# Attempts begun per event-loop turn (see WebhookDispatcher._pump).
_STARTS_PER_TURN = 1


@dataclass(slots=True)
class Delivery:
    """One webhook to send; its id stays the same across attempts."""

    webhook_id: str
    task_id: str
    event: str
    url: str
    body: bytes
    attempts: int = 0
    # Why the task FAILED, for the delivery log only (the payload has no such field).
    reason: str | None = None
    # When, on the fake's clock, the next attempt falls due: the transition's time, then
    # each retry's. An attempt is logged at that time, and its retry counted from it, so
    # that one manual-clock advance past several retry delays runs every one of them.
    due_at: float = 0.0


class WebhookDispatcher:
    """Queues, sends, retries and logs webhook deliveries."""

    def __init__(
        self,
        clock: Clock,
        *,
        secrets: Sequence[str],
        scheme: SigningScheme = "freepik",
        retry_delays: Sequence[float] = (1.0, 2.0, 4.0, 8.0),
        timeout: float = 10.0,
        hosts: WebhookHostPolicy | None = None,
        log_size: int = 10_000,
        transport: httpx.AsyncBaseTransport | None = None,
        on_schedule: Callable[[float], None] | None = None,
        result_urls: Callable[[str, str, str], tuple[str, ...]] = lambda *_: (),
    ) -> None:
        self.clock = clock
        # (task id, status, base URL) -> the task's ``generated`` list (results.py).
        self._result_urls = result_urls
        self._secrets = tuple(secrets) or (DEFAULT_WEBHOOK_SECRET,)
        for secret in self._secrets:
            signing_key(secret, scheme)  # fail at start-up, not at the first delivery
        self.scheme: SigningScheme = scheme
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.hosts = hosts if hosts is not None else WebhookHostPolicy()
        self._transport = transport
        self._on_schedule = on_schedule
        self._client: httpx.AsyncClient | None = None
        # The client being made in a thread, for the first attempt (see _ready).
        self._making: asyncio.Future[httpx.AsyncClient] | None = None
        self._awaiting_client = False  # the pump runs again once it is made
        # Each task's webhooks in order: a status change whose delivery is built when its
        # turn comes (see on_transition), then the delivery.
        self._queues: dict[str, deque[Delivery | Transition]] = {}
        self._busy: set[str] = set()
        self._retries: list[tuple[float, int, str]] = []
        self._sequence = itertools.count()
        self._running: set[asyncio.Task[None]] = set()
        # Tasks whose next attempt waits to begin, and the callback that begins them,
        # one per event-loop turn while fewer than _MAX_IN_FLIGHT are in flight (_pump).
        self._starting: deque[str] = deque()
        self._pumping: asyncio.Handle | None = None
        self._log: deque[dict[str, Any]] = deque(maxlen=log_size)
        # Attempts this process made, by outcome (metrics.py); never cleared by a reset.
        self.outcomes: Counter[str] = Counter()

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    def __repr__(self) -> str:
        return f"WebhookDispatcher(scheme={self.scheme!r}, secrets=<{len(self._secrets)} hidden>)"

    def on_transition(self, change: Transition) -> None:
        """Lifecycle listener: queue the webhook for a status change, if one was asked for.

        The delivery (its body, its id, its signed result URLs) is built when its attempt
        is about to begin (_delivery), a few per event-loop turn: a thousand tasks
        changing status in one timer run built all theirs in that one turn.
        """
        if not change.webhook_url:
            return
        self._queues.setdefault(change.task_id, deque()).append(change)
        if change.task_id not in self._busy:
            self._start(change.task_id)

    def prepare(self) -> None:
        """A task that asked for webhooks was made: begin making the HTTP client (in a
        thread), so that it is ready when the first delivery falls due (see _ready)."""
        if self._client is not None or self._making is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a caller's own thread): the first attempt makes it
        self._making = loop.run_in_executor(None, self._new_client)

    def delivery_for(self, change: Transition) -> Delivery | None:
        """The webhook a status change sends, if its task asked for them."""
        if not change.webhook_url:
            return None
        payload = {
            "task_id": change.task_id,
            "status": change.status,
            # Signed as a read would sign them, from the URL the task was created through.
            "generated": list(self._result_urls(change.task_id, change.status, change.base_url)),
        }
        delivery = Delivery(
            webhook_id=str(uuid.uuid4()),
            task_id=change.task_id,
            event=change.status,
            url=change.webhook_url,
            body=json.dumps(payload, separators=(",", ":")).encode(),
            reason=change.failure_reason if change.status == FAILED else None,
            due_at=change.at,
        )
        return delivery

    def next_due(self) -> float | None:
        return self._retries[0][0] if self._retries else None

    def process_due(self, now: float | None = None) -> int:
        now = self.clock.now() if now is None else now
        started = 0
        while self._retries and self._retries[0][0] <= now:
            _, _, task_id = heapq.heappop(self._retries)
            if self._queues.get(task_id):
                self._start(task_id)
                started += 1
        return started

    def log(self, task_id: str | None = None) -> list[dict[str, Any]]:
        return [entry for entry in self._log if task_id is None or entry["task_id"] == task_id]

    def pending(self) -> int:
        """Deliveries not yet delivered or given up on."""
        return sum(len(queue) for queue in self._queues.values())

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no attempt is in flight or about to begin; True if that happened
        within ``timeout``."""
        deadline = time.monotonic() + timeout
        while self._running or not self._idle():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._running:
                await asyncio.wait(set(self._running), timeout=remaining)
            elif self._making is not None and not self._making.done():
                await asyncio.wait({self._making}, timeout=remaining)  # then the pump
            else:
                await asyncio.sleep(0)  # the pump begins the next ones in this turn
        return True

    def clear(self) -> None:
        self._queues.clear()
        self._busy.clear()
        self._starting.clear()
        self._retries.clear()
        self._log.clear()

    async def aclose(self) -> None:
        self._starting.clear()
        if self._pumping is not None:
            self._pumping.cancel()
            self._pumping = None
        for task in list(self._running):
            task.cancel()
        if self._running:
            await asyncio.wait(set(self._running))
        making, self._making = self._making, None
        if making is not None:  # a client made in a thread that no attempt took yet
            with contextlib.suppress(Exception):
                made = await making
                if made is not self._client:
                    await made.aclose()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _idle(self) -> bool:
        """Whether no attempt waits to begin (the pump has nothing to start)."""
        return not self._starting

    def _start(self, task_id: str) -> None:
        self._busy.add(task_id)
        self._starting.append(task_id)
        if self._pumping is None:
            self._pumping = asyncio.get_running_loop().call_soon(self._pump)

    def _pump(self) -> None:
        """Begin the next waiting attempt, if fewer than _MAX_IN_FLIGHT are in flight,
        then let the event loop serve requests.

        An attempt's first step (building and signing it, httpx opening a connection)
        takes up to a millisecond: eight begun per turn held every API request answered
        meanwhile for 5-20 ms while 1,000 deliveries started. An attempt beyond the
        limit waits here, built and signed only when a slot frees (see _attempt_done):
        waiting on a semaphore instead, each had been built, signed and handed a task
        at once, and in httpx's pool each queued request is matched against every
        connection whenever one is queued or freed.
        """
        self._pumping = None
        if self._client is None and not self._client_made():
            return
        for _ in range(_STARTS_PER_TURN):
            if len(self._running) >= _MAX_IN_FLIGHT:
                return  # the next attempt to finish calls the pump again
            delivery = self._next_to_start()
            if delivery is None:
                break
            running = asyncio.get_running_loop().create_task(self._attempt(delivery))
            self._running.add(running)
            running.add_done_callback(self._attempt_done)
        if not self._idle():
            self._pumping = asyncio.get_running_loop().call_soon(self._pump)

    def _attempt_done(self, attempt: asyncio.Task[None]) -> None:
        """An attempt is over: its slot is free for the next one waiting."""
        self._running.discard(attempt)
        self._repump()

    def _client_ready(self, _: object) -> None:
        self._awaiting_client = False
        self._repump()

    def _repump(self) -> None:
        """Have the pump run (again) if attempts wait to begin."""
        if self._pumping is None and not self._idle():
            self._pumping = asyncio.get_running_loop().call_soon(self._pump)

    def _client_made(self) -> bool:
        """Whether the HTTP client is made (or failed to be, which _ready raises); if
        not, the pump runs again once it is: attempts begun meanwhile would all wait
        for it and go on together, in the one turn it is ready in."""
        if self._making is None:
            self.prepare()
        making = self._making
        if making is None or making.done():
            return True
        if not self._awaiting_client:
            self._awaiting_client = True
            making.add_done_callback(self._client_ready)
        return False

    def _next_to_start(self) -> Delivery | None:
        """The next delivery whose attempt waits to begin, if any."""
        while self._starting:
            queue = self._queues.get(self._starting.popleft())
            if queue:  # else cleared meanwhile
                return self._delivery(queue)
        return None

    def _delivery(self, queue: deque[Delivery | Transition]) -> Delivery:
        """The first of a task's queued webhooks, built now if it is a status change."""
        head = queue[0]
        if isinstance(head, Delivery):
            return head
        delivery = self.delivery_for(head)
        assert delivery is not None  # only changes with a webhook URL are queued
        queue[0] = delivery
        return delivery

    def _refusal(self, url: str) -> str | None:
        import httpx  # here, not at the top: see the TYPE_CHECKING import

        # Parsed by the client that sends, so the host checked is the host connected to.
        try:
            parts = httpx.URL(url)
        except httpx.InvalidURL as exc:
            return f"the URL is not valid ({exc})"
        if parts.scheme not in ("http", "https"):
            return f"scheme {parts.scheme!r} is not http or https"
        host = parts.host.lower()
        if not host:
            return "the URL has no host"
        if self.hosts.allows(host):
            return None
        return f"host {host!r} is not loopback and not allowed (--webhook-allow)"

    async def _attempt(self, delivery: Delivery) -> None:
        entry, started, verdict = await self._send(delivery)
        due = self._judge(delivery, entry, verdict, started)
        self._log.append(entry)
        if due is None:
            self._finish(delivery, started)
            return
        heapq.heappush(self._retries, (due, next(self._sequence), delivery.task_id))
        if self._on_schedule is not None:
            self._on_schedule(due)

    def _judge(
        self, delivery: Delivery, entry: dict[str, Any], verdict: str, started: float
    ) -> float | None:
        """An attempt's outcome, in its log entry and counted: when its retry falls due
        (also the delivery's ``due_at``), or None when the delivery is done."""
        due: float | None = None
        if verdict == "error" and delivery.attempts < self.max_attempts:
            due = started + self.retry_delays[delivery.attempts - 1]
            delivery.due_at = due
            entry.update(outcome="retrying", next_attempt_at=due)
        else:
            entry["outcome"] = "failed" if verdict == "error" else verdict
        self.outcomes[entry["outcome"]] += 1
        return due

    async def _send(self, delivery: Delivery) -> tuple[dict[str, Any], float, str]:
        """One attempt at ``delivery``: its log entry, the time it is logged at, and
        ``delivered``, ``refused`` (not sent: a host not allowed) or ``error``."""
        client = await self._ready()
        import httpx  # here, not at the top: see the TYPE_CHECKING import

        delivery.attempts += 1
        # When it fell due (see Delivery.due_at), and never later than now.
        started = min(self.clock.now(), delivery.due_at)
        entry: dict[str, Any] = {
            "webhook_id": delivery.webhook_id,
            "task_id": delivery.task_id,
            "event": delivery.event,
            "url": delivery.url,
            "attempt": delivery.attempts,
            "at": started,
            "status_code": None,
            "error": None,
        }
        if delivery.reason:
            entry["reason"] = delivery.reason
        refusal = self._refusal(delivery.url)
        if refusal is not None:
            entry["error"] = f"refused: {refusal}"
            return entry, started, "refused"
        # Wall-clock time even under a manual clock: receivers check it against their own.
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(
                self._secrets, delivery.webhook_id, timestamp, delivery.body, self.scheme
            ),
        }
        wall = time.monotonic()
        try:
            response = await client.post(delivery.url, content=delivery.body, headers=headers)
            entry["status_code"] = response.status_code
            ok = 200 <= response.status_code < 300
            if not ok:
                entry["error"] = f"HTTP {response.status_code}"
        except httpx.TimeoutException:
            ok, entry["error"] = False, f"timeout after {self.timeout:g} s"
        except httpx.HTTPError as exc:
            ok, entry["error"] = False, f"{type(exc).__name__}: {exc}".rstrip(": ")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an in-process receiver that crashed counts as a failure
            ok, entry["error"] = False, f"{type(exc).__name__}: {exc}"
        entry["duration_ms"] = round((time.monotonic() - wall) * 1000, 3)
        return entry, started, "delivered" if ok else "error"

    def _finish(self, delivery: Delivery, at: float) -> None:
        """``delivery`` is done with, its last attempt at ``at``: on to the task's next."""
        queue = self._queues.get(delivery.task_id)
        if queue and queue[0] is delivery:
            queue.popleft()
        if queue:
            following = self._delivery(queue)
            following.due_at = max(following.due_at, at)  # a task's events go out in order
            self._start(delivery.task_id)
        else:
            self._queues.pop(delivery.task_id, None)
            self._busy.discard(delivery.task_id)

    async def _ready(self) -> httpx.AsyncClient:
        """The HTTP client.

        The client is made in a thread, begun when the first task that asked for
        webhooks was made (:meth:`prepare`) or else by the first attempt: importing httpx
        and building its TLS context take 150-200 ms, which on the event loop, at the
        first delivery, held every API request answered meanwhile (the p99 of creates
        while 1,000 deliveries started was 15-40x its idle p99). Attempts that begin
        before it is ready wait for it.
        """
        if self._client is None:
            if self._making is None:
                self.prepare()
            assert self._making is not None
            # Shielded: an attempt cancelled meanwhile leaves the client to the others.
            client = await asyncio.shield(self._making)
            if self._client is None:
                self._client = client
            self._making = None
        assert self._client is not None
        return self._client

    def _new_client(self) -> httpx.AsyncClient:
        import httpx  # here, not at the top: see the TYPE_CHECKING import

        # httpcore imports anyio's asyncio backend (some thirty modules, 20-25 ms) at
        # its first connection, on the event loop: here, in this thread, instead.
        with contextlib.suppress(ImportError):
            importlib.import_module("anyio._backends._asyncio")
        return httpx.AsyncClient(
            transport=self._transport,
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
        )
