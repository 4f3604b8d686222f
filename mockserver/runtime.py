"""Everything one fake holds (spec, store, clock, lifecycle, webhooks, faults, journal),
apart from how requests reach it (``app.py``): nothing lives at module level, so two
apps in one process share nothing.

What is compiled from the spec and the settings (validators, families, key headers, the
media checker) is an :class:`ApiModel`, built once per app; a :class:`MockRuntime` is one
namespace's state over it (namespaces.py), so that a new namespace compiles nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import ManualClock, SystemClock, TimerLoop, make_clock
from .config import MockConfig
from .constants import BRANDS, DEFAULT_NAMESPACE
from .faults import FaultGate, FaultRegistry, RateLimiter
from .hosts import WebhookHostPolicy
from .journal import Journal
from .kinds import plan
from .lifecycle import IllegalTransition, Lifecycle
from .media import MediaChecker, MediaKind, media_fields
from .result_media import VIDEO, ResultMedia, result_media
from .results import ResultUrls
from .spec import Spec, package_folder
from .state import connect_state, open_state
from .synthesis import Answers
from .tasks import COMPLETED, FAILED, InMemoryTaskStore, Task, TaskStore
from .validation import OperationValidator
from .webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from .shared import SharedWebhooks

__all__ = ["ApiModel", "MockRuntime", "fixtures_media_dir"]

# At most this many rounds of due work and webhook attempts in one clock advance.
_ADVANCE_ROUNDS = 1000


def fixtures_media_dir() -> Path:
    return package_folder("mockserver.fixtures") / "media"


class ApiModel:
    """What one app compiles once from its spec and settings and every namespace shares:
    validators, task families, key headers, reference-media fields and checker."""

    def __init__(self, config: MockConfig, spec: Spec) -> None:
        self.spec = spec
        self.api_keys = tuple(key.encode() for key in config.api_keys)
        # Each operation's kind (create, read, list, or a synchronous call) and the task
        # families: tasks are read and listed only through the family that created them.
        self.plan = plan(spec)
        self.families = self.plan.families
        # Each family's result (image, video, audio), by the task's family at read time.
        self.result_media = result_media(spec, self.families.created, self.families.served)
        self.answers = Answers(spec)
        self.validators = {op.operation_id: OperationValidator(op, config.profile) for op in spec}
        self.media_dir = fixtures_media_dir()
        self.media = MediaChecker(
            config.media_check,
            fixtures_dir=self.media_dir,
            media_root=config.media_root,
            max_download_bytes=config.media_max_bytes,
        )
        self.media_fields = {op.operation_id: media_fields(op.request_schema) for op in spec}
        # The header each operation takes its key from: the spec's own, or the brand's.
        brand = BRANDS[config.brand]
        self.key_headers = {
            op.operation_id: None
            if op.auth_header is None
            else (op.auth_header if config.brand == "freepik" else brand.key_header)
            for op in spec
        }
        self.secret_headers = frozenset(h for h in self.key_headers.values() if h is not None)
        # One connection to shared state (--state redis://) for every namespace.
        self.state_link = connect_state(config)

    def __repr__(self) -> str:
        return f"ApiModel(operations={len(self.validators)})"


class MockRuntime:
    """Everything one namespace of an app holds: its store, clock, lifecycle, webhooks,
    faults and journal, over the app's :class:`ApiModel`."""

    def __init__(
        self,
        config: MockConfig,
        spec: Spec | ApiModel,
        store: TaskStore | None = None,
        *,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        self.config = config
        self.namespace = namespace
        model = spec if isinstance(spec, ApiModel) else ApiModel(config, spec)
        self.model = model
        self.spec = model.spec
        self.api_keys = model.api_keys
        self.state = open_state(config, namespace, model.state_link)
        backend = self.state.backend
        if store is not None and backend is not None:
            raise ValueError("a store of your own and shared state (--state) exclude each other")
        self.plan = model.plan
        self.families = model.families
        self.result_media = model.result_media
        self.answers = model.answers
        self.validators = model.validators
        if backend is None:
            self.clock = make_clock(config.clock)
        else:
            from .shared import SharedManualClock  # only shared state needs it

            self.clock = SharedManualClock(backend) if config.clock == "manual" else SystemClock()
        self.manual_clock = self.clock if isinstance(self.clock, ManualClock) else None
        self.media_dir = model.media_dir
        self.media = model.media
        self._media_fields = model.media_fields
        self._media_jobs: set[asyncio.Task[None]] = set()
        self.key_headers = model.key_headers
        secret_headers = model.secret_headers
        self.rate_limiter = RateLimiter(self.clock) if config.rate_limit else None
        scale = config.time_scale
        # Shared state signs result URLs with the namespace's key, so that a URL one
        # process handed out works through every other.
        self.results = ResultUrls(
            self.clock,
            config.result_url_ttl,
            key=backend.result_key() if backend is not None else None,
            namespace=None if namespace == DEFAULT_NAMESPACE else namespace,
        )
        webhook_settings: dict[str, Any] = {
            "secrets": config.webhook_secrets,
            "scheme": config.signing,
            "retry_delays": [d * scale for d in config.webhook_retry_delays],
            "timeout": config.webhook_timeout,
            "hosts": WebhookHostPolicy(config.webhook_allow, allow_any=config.webhook_allow_any),
            "log_size": config.webhook_log_size,
            "transport": config.webhook_transport,
            "on_schedule": self._wake,
            "result_urls": self.result_urls,
        }
        lifecycle_settings: dict[str, Any] = {
            "in_progress_after": config.in_progress_after * scale,
            "complete_after": config.complete_after * scale,
            "failure_rate": config.failure_rate,
            "seed": config.seed,
            "on_schedule": self._wake,
            "on_create": self._created,
        }
        if backend is None:
            self.store: TaskStore = store if store is not None else InMemoryTaskStore()
            self.journal = Journal(self.clock, config.journal_size, secret_headers)
            self.faults = FaultRegistry()
            self.lifecycle = Lifecycle(self.store, self.clock, **lifecycle_settings)
            self.webhooks = WebhookDispatcher(self.clock, **webhook_settings)
            self.lifecycle.subscribe(self.journal.on_transition)
            self.lifecycle.subscribe(self.webhooks.on_transition)
            for task in self.store.all():  # a store of the caller's may hold tasks
                self.lifecycle.restore(task)
        else:
            from .shared import (
                SharedFaults,
                SharedJournal,
                SharedLifecycle,
                SharedTaskStore,
                SharedWebhooks,
            )

            # A shared move queues its webhook and journal entry itself, atomically.
            self.store = SharedTaskStore(backend)
            self.journal = SharedJournal(backend, self.clock, secret_headers)
            self.faults = SharedFaults(backend)
            shared_webhooks: SharedWebhooks = SharedWebhooks(
                backend, self.clock, **webhook_settings
            )
            self.webhooks = shared_webhooks
            self.lifecycle = SharedLifecycle(
                backend,
                self.clock,
                webhooks=shared_webhooks,
                journal_size=config.journal_size,
                **lifecycle_settings,
            )
        self.fault_gate = FaultGate(
            self.faults, latency_ms=config.latency_ms, rate_limiter=self.rate_limiter
        )
        self.timers = TimerLoop(self.clock, [self.lifecycle, self.webhooks])
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    def __repr__(self) -> str:
        return (
            f"MockRuntime(namespace={self.namespace!r}, config={self.config!r}, "
            f"tasks={len(self.store)})"
        )

    def media_of(self, family: str) -> ResultMedia:
        """What a task of ``family`` results in (a Kling video for a family the spec
        does not name, as tasks restored from a state file of another spec may be)."""
        return self.result_media.get(family, VIDEO)

    def result_urls(self, task_id: str, status: str, base_url: str) -> tuple[str, ...]:
        """A task's signed result URLs, as its family's media (webhooks send them)."""
        if status != COMPLETED:
            return ()
        task = self.store.get(task_id)
        media = self.media_of(task.family) if task is not None else VIDEO
        return self.results.generated(task_id, status, base_url, media)

    def _wake(self, due: float) -> None:
        self.timers.wake(due)

    def _created(self, task: Task) -> None:
        if task.webhook_url:
            self.webhooks.prepare()

    def ensure_started(self) -> asyncio.AbstractEventLoop:
        """Start the timer loop in the running event loop (in-process clients send no
        lifespan events, so the first request does it); return that event loop."""
        # asyncio.get_running_loop() costs a getpid() system call on Python 3.11, and
        # this runs on every request: a thread runs one loop at a time, so the loop we
        # started in is still the running one if it runs and this is its thread.
        loop = self._loop
        if loop is not None and self._loop_thread == threading.get_ident() and loop.is_running():
            return loop
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._loop_thread = threading.get_ident()
            self.timers.start()
        return loop

    async def advance(self, seconds: float) -> tuple[float, int]:
        """Move the manual clock ``seconds`` on and run what fell due, in time order:
        transitions, webhook attempts and the retries of those that failed within the
        window. Returns the new time and how many steps ran."""
        assert self.manual_clock is not None
        now = self.manual_clock.advance(seconds)
        applied = 0
        # Attempts are HTTP requests: wait for them, then run the retries they left due
        # by now; bounded, since a receiver could keep failing within the window.
        for _ in range(_ADVANCE_ROUNDS):
            applied += self.timers.run_due()
            await self.webhooks.drain(timeout=self.config.webhook_timeout + 1)
            if not any(
                (due := source.next_due()) is not None and due <= now
                for source in (self.lifecycle, self.webhooks)
            ):
                break
        return now, applied

    def check_media(self, operation_id: str, task: Task, params: Mapping[str, Any]) -> None:
        """Check a new task's reference media; a violation makes the task end FAILED.

        The url check is instant; a probe downloads, so it runs in a thread and the
        create response does not wait for it.
        """
        fields = self._media_fields.get(operation_id)
        if not fields or self.media.mode == "off":
            return
        if not self.media.probes:
            self._media_verdict(task.task_id, self.media.check(fields, params))
            return
        job = asyncio.create_task(self._probe_media(task, fields, params))
        self._media_jobs.add(job)
        job.add_done_callback(self._media_jobs.discard)

    async def _probe_media(
        self, task: Task, fields: Mapping[str, MediaKind], params: Mapping[str, Any]
    ) -> None:
        reason = await asyncio.to_thread(self.media.check, fields, params, task.base_url)
        self._media_verdict(task.task_id, reason)

    async def media_checked(self) -> None:
        """Wait for every media probe under way (tests and benchmarks use it)."""
        while self._media_jobs:
            await asyncio.gather(*self._media_jobs, return_exceptions=True)

    def _media_verdict(self, task_id: str, reason: str | None) -> None:
        if reason is None:
            return
        entry: dict[str, Any] = {"kind": "media_check", "task_id": task_id, "reason": reason}
        try:
            self.lifecycle.set_outcome(task_id, FAILED, f"media check: {reason}")
        except (KeyError, IllegalTransition) as exc:
            entry["ignored"] = f"task already gone or finished: {exc}"
        self.journal.record(entry)

    async def shutdown(self) -> None:
        for job in list(self._media_jobs):
            job.cancel()
        await self.timers.stop()
        await self.webhooks.aclose()
        self._loop = None
        self.state.close()

    def reset(self) -> None:
        """Forget tasks, faults, deliveries and the journal."""
        self.store.clear()
        self.lifecycle.clear()
        self.webhooks.clear()
        self.faults.clear()
        self.journal.clear()
        if self.rate_limiter is not None:
            self.rate_limiter.clear()
