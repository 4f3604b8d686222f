"""``--state PATH``: a :class:`~mockserver.state.SharedBackend` in one SQLite file.

Tasks, their schedule, pending webhook deliveries and the delivery log, fault rules, the
journal and the manual clock are rows, each with its namespace, so every process naming
the file (``--workers N``, or several ``serve``s on one host) shares them and a restart
or a ``kill -9`` loses nothing that was answered for. Write-through: every change is a
committed transaction before the call returns. The file is in WAL mode with
``synchronous=NORMAL`` (a commit survives the process dying, though not necessarily the
machine losing power) and a busy timeout, so writers queue instead of failing. A move is
``UPDATE ... WHERE status = ?``: of two processes applying one transition, one changes
the row and queues the webhook, the other changes nothing.

A claim on a delivery names its process; since a file has one host, a claim whose
process is gone is taken over at once, and one whose process hangs after its lease.

Nothing secret is written: tasks hold a digest of the API key, never the key, and
webhook bodies are stored unsigned (each attempt is signed when it is sent).
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

import orjson

from .state import DUE_ALREADY, Move, StateError
from .states import TERMINAL_STATUSES
from .tasks import Task
from .webhooks import Delivery

__all__ = ["SCHEMA_VERSION", "SQLiteBackend", "StateFileError"]

T = TypeVar("T")

# 3: rows belong to a namespace, and the file holds the schedule, the delivery claims,
# the logs, faults and clocks, so that several processes share it. Older files (1:
# tasks without a family; 2: one process's tasks and outbox) are refused, not migrated.
SCHEMA_VERSION: Final = 3
_OLDER = (
    " (written by an older freepik-mock for one process, which this version cannot "
    "share): delete it or pass another --state path"
)
# Writers wait this long for another process's transaction before giving up, looking
# again after a short sleep that doubles up to a cap. SQLite's own busy handler sleeps
# 1, 2, 5, 10, 15 ms...: a write lock that two workers each hold for ~100 us per
# commit made a POST's p99 65 ms with --workers 2.
_BUSY_TIMEOUT_S: Final = 10.0
_BUSY_FIRST_SLEEP_S: Final = 0.0001
_BUSY_MAX_SLEEP_S: Final = 0.002
# The journal and the delivery log are cut back to their size every this many appends.
_TRIM_EVERY: Final = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    task_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    aspect_ratio TEXT,
    webhook_url TEXT,
    base_url TEXT NOT NULL,
    request_json TEXT NOT NULL,
    failure_reason TEXT,
    family TEXT NOT NULL,
    due REAL,
    UNIQUE (namespace, task_id)
);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (namespace, due) WHERE due IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_listed ON tasks (namespace, owner, family, seq);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    webhook_id TEXT NOT NULL UNIQUE,
    task_id TEXT NOT NULL,
    event TEXT NOT NULL,
    url TEXT NOT NULL,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT,
    due_at REAL NOT NULL,
    lease_until REAL,
    lease_owner TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_task ON deliveries (namespace, task_id, seq);
CREATE TABLE IF NOT EXISTS logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    log TEXT NOT NULL,
    task_id TEXT,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_of ON logs (namespace, log, seq);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    fault TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clocks (
    namespace TEXT PRIMARY KEY,
    now REAL NOT NULL,
    result_key BLOB NOT NULL
);
"""

_TASK_COLUMNS = (
    "task_id, owner, status, created_at, updated_at, outcome, aspect_ratio, webhook_url, "
    "base_url, request_json, failure_reason, family"
)
_DELIVERY_COLUMNS = "webhook_id, task_id, event, url, body, attempts, reason, due_at"
_JOURNAL, _WEBHOOKS = "journal", "webhooks"


class StateFileError(StateError):
    """The state file cannot be used (not ours, or from an older version)."""


def _task(row: tuple[Any, ...]) -> Task:
    return Task(*row)


def _delivery(row: tuple[Any, ...]) -> Delivery:
    w, t, e, u, b, a, r, d = row
    return Delivery(str(w), str(t), str(e), str(u), bytes(b), int(a), r, float(d))


def _process_gone(owner: str) -> bool:
    """Whether the process that made claim ``owner`` (``host:pid:token``) has ended."""
    host, pid, _ = owner.split(":", 2)
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


class SQLiteBackend:
    """One namespace of one state file."""

    def __init__(
        self,
        path: str | Path,
        namespace: str,
        *,
        lease: float,
        journal_size: int = 1000,
        log_size: int = 10_000,
    ) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.namespace = namespace
        self._lease = lease
        self._sizes = {_JOURNAL: max(1, journal_size), _WEBHOOKS: max(1, log_size)}
        self._appends = 0
        self._db: sqlite3.Connection | None = None
        self._token = ""
        self._connection()  # fail at start-up, not at the first request

    def __repr__(self) -> str:
        return f"SQLiteBackend({self.where!r}, namespace={self.namespace!r})"

    def _connection(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        # Who holds a claim: this process (opened again after a fork: the child).
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        try:
            # Autocommit: each statement is its own transaction unless _write opens one.
            db = sqlite3.connect(
                self.path,
                isolation_level=None,
                timeout=_BUSY_TIMEOUT_S,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise StateFileError(f"cannot open state file {self.path}: {exc}") from None
        try:
            # Before WAL mode is set: a file refused here is left as it was.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise StateFileError(
                    f"state file {self.path} has schema version {version}; "
                    f"this freepik-mock reads version {SCHEMA_VERSION}"
                    + (_OLDER if version < SCHEMA_VERSION else "")
                )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if version == 0:
                # IF NOT EXISTS: processes starting together may both get here.
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            # The first process to open a namespace sets its manual clock and URL key.
            db.execute(
                "INSERT OR IGNORE INTO clocks (namespace, now, result_key) VALUES (?,?,?)",
                (self.namespace, time.time(), secrets.token_bytes(32)),
            )
            # From here on a busy file is waited for by _retrying, not by SQLite.
            db.execute("PRAGMA busy_timeout=0")
        except (sqlite3.DatabaseError, StateFileError) as exc:
            db.close()
            if isinstance(exc, StateFileError):
                raise
            raise StateFileError(f"cannot use state file {self.path}: {exc}") from None
        self._db = db
        return db

    @staticmethod
    def _retrying(run: Callable[[], T]) -> T:
        """``run()``, again after a short sleep while another process holds the lock."""
        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        pause = _BUSY_FIRST_SLEEP_S
        while True:
            try:
                return run()
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(2 * pause, _BUSY_MAX_SLEEP_S)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that takes the write lock first (waiting up to the busy
        timeout), so that what it reads cannot change before it writes."""
        db = self._connection()
        self._retrying(lambda: db.execute("BEGIN IMMEDIATE"))
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        db = self._connection()
        return self._retrying(lambda: db.execute(sql, params).fetchall())

    # -- tasks --------------------------------------------------------------------------

    def add_task(self, task: Task, due: float | None) -> None:
        with self._write() as db:
            db.execute(
                f"INSERT INTO tasks (namespace, {_TASK_COLUMNS}, due) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (self.namespace, *task, due),
            )

    def get_task(self, task_id: str) -> Task | None:
        rows = self._rows(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE namespace=? AND task_id=?",
            self.namespace,
            task_id,
        )
        return _task(rows[0]) if rows else None

    def set_outcome(self, task_id: str, outcome: str, reason: str | None) -> bool:
        with self._write() as db:
            found = db.execute(
                "SELECT status FROM tasks WHERE namespace=? AND task_id=?",
                (self.namespace, task_id),
            ).fetchone()
            if found is None:
                raise KeyError(task_id)
            if found[0] in TERMINAL_STATUSES:
                return False
            db.execute(
                "UPDATE tasks SET outcome=?, failure_reason=? WHERE namespace=? AND task_id=?",
                (outcome, reason, self.namespace, task_id),
            )
            return True

    def get_tasks(self, task_ids: Sequence[str]) -> list[Task | None]:
        return [self.get_task(task_id) for task_id in task_ids]

    def move(
        self,
        before: Task,
        after: Task,
        due: float | None,
        delivery: Delivery | None,
        journal_entry: dict[str, Any] | None,
    ) -> bool:
        with self._write() as db:
            return self._move(db, before, after, due, delivery, journal_entry)

    def move_many(self, moves: Sequence[Move]) -> list[bool]:
        # One transaction: one commit (and one wait for the write lock) for them all.
        with self._write() as db:
            return [self._move(db, *move) for move in moves]

    def _move(
        self,
        db: sqlite3.Connection,
        before: Task,
        after: Task,
        due: float | None,
        delivery: Delivery | None,
        journal_entry: dict[str, Any] | None,
    ) -> bool:
        changed = db.execute(  # compare-and-set: only from the status it was read in
            "UPDATE tasks SET status=?, updated_at=?, due=? "
            "WHERE namespace=? AND task_id=? AND status=?",
            (after.status, after.updated_at, due, self.namespace, after.task_id, before.status),
        ).rowcount
        if not changed:
            return False
        if delivery is not None:
            db.execute(
                f"INSERT INTO deliveries (namespace, {_DELIVERY_COLUMNS}) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    self.namespace,
                    delivery.webhook_id,
                    delivery.task_id,
                    delivery.event,
                    delivery.url,
                    delivery.body,
                    delivery.attempts,
                    delivery.reason,
                    delivery.due_at,
                ),
            )
        if journal_entry is not None:
            self._append(db, _JOURNAL, None, journal_entry)
        return True

    def due_tasks(self, now: float, limit: int) -> list[str]:
        rows = self._rows(
            "SELECT task_id FROM tasks WHERE namespace=? AND due IS NOT NULL AND due<=? "
            "ORDER BY due LIMIT ?",
            self.namespace,
            now,
            limit,
        )
        return [row[0] for row in rows]

    def next_task_due(self) -> float | None:
        rows = self._rows(
            "SELECT MIN(due) FROM tasks WHERE namespace=? AND due IS NOT NULL", self.namespace
        )
        return None if rows[0][0] is None else float(rows[0][0])

    def page(self, owner: str, family: str, offset: int, limit: int) -> list[Task]:
        if offset < 0 or limit <= 0:
            return []
        rows = self._rows(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE namespace=? AND owner=? AND family=? "
            "ORDER BY seq DESC LIMIT ? OFFSET ?",
            self.namespace,
            owner,
            family,
            limit,
            offset,
        )
        return [_task(row) for row in rows]

    def status_page(
        self, owner: str, family: str, offset: int, limit: int
    ) -> list[tuple[str, str]]:
        if offset < 0 or limit <= 0:
            return []
        rows = self._rows(
            "SELECT task_id, status FROM tasks WHERE namespace=? AND owner=? AND family=? "
            "ORDER BY seq DESC LIMIT ? OFFSET ?",
            self.namespace,
            owner,
            family,
            limit,
            offset,
        )
        return [(str(i), str(s)) for i, s in rows]

    def all_tasks(self) -> list[Task]:
        rows = self._rows(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE namespace=? ORDER BY seq", self.namespace
        )
        return [_task(row) for row in rows]

    def task_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM tasks WHERE namespace=?", self.namespace)[0][0])

    def clear_tasks(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM tasks WHERE namespace=?", (self.namespace,))

    # -- deliveries ---------------------------------------------------------------------

    def claim(self, now: float, limit: int) -> list[Delivery]:
        wall = time.time()
        with self._write() as db:
            # Each task's first delivery: the only one that may be claimed.
            heads = db.execute(
                f"SELECT seq, lease_until, lease_owner, {_DELIVERY_COLUMNS} FROM deliveries d "
                "WHERE namespace=? AND (due_at<=? OR lease_owner IS NOT NULL) AND seq=("
                "SELECT MIN(seq) FROM deliveries WHERE namespace=d.namespace AND "
                "task_id=d.task_id) ORDER BY due_at",
                (self.namespace, now),
            ).fetchall()
            claimed: list[Delivery] = []
            for seq, lease_until, lease_owner, *fields in heads:
                if len(claimed) >= limit:
                    break
                if (
                    lease_owner is not None
                    and lease_until > wall
                    and not _process_gone(lease_owner)
                ):
                    continue  # claimed, and its process is alive within its lease
                db.execute(
                    "UPDATE deliveries SET lease_until=?, lease_owner=? WHERE seq=?",
                    (wall + self._lease, self._token, seq),
                )
                claimed.append(_delivery(tuple(fields)))
            return claimed

    def next_delivery_due(self) -> float | None:
        heads = self._rows(
            "SELECT due_at, lease_until, lease_owner FROM deliveries d WHERE namespace=? AND "
            "seq=(SELECT MIN(seq) FROM deliveries WHERE namespace=d.namespace AND "
            "task_id=d.task_id)",
            self.namespace,
        )
        wall = time.time()
        due: float | None = None
        gone: dict[str, bool] = {}
        for due_at, lease_until, owner in heads:
            if owner is None:
                due = float(due_at) if due is None else min(due, float(due_at))
                continue
            if owner not in gone:
                gone[owner] = _process_gone(owner)
            if lease_until <= wall or gone[owner]:
                return DUE_ALREADY  # a claim to take over
        return due

    def finish_delivery(self, delivery: Delivery, at: float, log_entry: dict[str, Any]) -> bool:
        with self._write() as db:
            if not self._still_ours(db, delivery):
                return False
            db.execute("DELETE FROM deliveries WHERE webhook_id=?", (delivery.webhook_id,))
            # A task's events go out in order: its next one is due no sooner than now.
            db.execute(
                "UPDATE deliveries SET due_at=MAX(due_at, ?) WHERE seq=(SELECT MIN(seq) FROM "
                "deliveries WHERE namespace=? AND task_id=?)",
                (at, self.namespace, delivery.task_id),
            )
            self._append(db, _WEBHOOKS, delivery.task_id, log_entry)
            return True

    def retry_delivery(self, delivery: Delivery, log_entry: dict[str, Any]) -> bool:
        with self._write() as db:
            if not self._still_ours(db, delivery):
                return False
            db.execute(
                "UPDATE deliveries SET attempts=?, due_at=?, lease_until=NULL, lease_owner=NULL "
                "WHERE webhook_id=?",
                (delivery.attempts, delivery.due_at, delivery.webhook_id),
            )
            self._append(db, _WEBHOOKS, delivery.task_id, log_entry)
            return True

    def _still_ours(self, db: sqlite3.Connection, delivery: Delivery) -> bool:
        found = db.execute(
            "SELECT lease_owner FROM deliveries WHERE webhook_id=?", (delivery.webhook_id,)
        ).fetchone()
        return found is not None and found[0] == self._token

    def pending_deliveries(self) -> int:
        rows = self._rows("SELECT COUNT(*) FROM deliveries WHERE namespace=?", self.namespace)
        return int(rows[0][0])

    def delivery_log(self, task_id: str | None) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self._entries(_WEBHOOKS, with_ids=False)
            if task_id is None or entry["task_id"] == task_id
        ]

    def clear_deliveries(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM deliveries WHERE namespace=?", (self.namespace,))
            db.execute("DELETE FROM logs WHERE namespace=? AND log=?", (self.namespace, _WEBHOOKS))

    # -- journal ------------------------------------------------------------------------

    def journal_append(self, entry: dict[str, Any]) -> None:
        with self._write() as db:
            self._append(db, _JOURNAL, None, entry)

    def journal_entries(self) -> list[dict[str, Any]]:
        return self._entries(_JOURNAL, with_ids=True)

    def clear_journal(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM logs WHERE namespace=? AND log=?", (self.namespace, _JOURNAL))

    def _append(
        self, db: sqlite3.Connection, log: str, task_id: str | None, entry: dict[str, Any]
    ) -> None:
        db.execute(
            "INSERT INTO logs (namespace, log, task_id, entry) VALUES (?,?,?,?)",
            (self.namespace, log, task_id, orjson.dumps(entry)),
        )
        self._appends += 1
        if self._appends % _TRIM_EVERY == 0:
            db.execute(
                "DELETE FROM logs WHERE namespace=? AND log=? AND seq<=(SELECT seq FROM logs "
                "WHERE namespace=? AND log=? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (self.namespace, log, self.namespace, log, self._sizes[log]),
            )

    def _entries(self, log: str, *, with_ids: bool) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT seq, entry FROM (SELECT seq, entry FROM logs WHERE namespace=? AND log=? "
            "ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            self.namespace,
            log,
            self._sizes[log],
        )
        found = []
        for seq, raw in rows:
            entry = orjson.loads(raw)
            if with_ids:
                entry["id"] = seq
            found.append(entry)
        return found

    # -- faults -------------------------------------------------------------------------

    def fault_add(self, fault: dict[str, Any]) -> dict[str, Any]:
        with self._write() as db:
            ident = db.execute(
                "INSERT INTO faults (namespace, fault) VALUES (?, '')", (self.namespace,)
            ).lastrowid
            stored = {**fault, "id": ident}
            db.execute("UPDATE faults SET fault=? WHERE id=?", (orjson.dumps(stored), ident))
            return stored

    def faults(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT fault FROM faults WHERE namespace=? ORDER BY id", self.namespace)
        return [orjson.loads(raw) for (raw,) in rows]

    def fault_count(self) -> int:
        rows = self._rows("SELECT COUNT(*) FROM faults WHERE namespace=?", self.namespace)
        return int(rows[0][0])

    def fault_use(self, fault_id: int) -> dict[str, Any] | None:
        with self._write() as db:
            found = db.execute(
                "SELECT fault FROM faults WHERE namespace=? AND id=?", (self.namespace, fault_id)
            ).fetchone()
            if found is None:
                return None
            fault: dict[str, Any] = orjson.loads(found[0])
            fault["matched"] += 1
            if fault["times"] is not None:
                fault["times"] -= 1
                if fault["times"] <= 0:
                    db.execute("DELETE FROM faults WHERE id=?", (fault_id,))
                    return fault
            db.execute("UPDATE faults SET fault=? WHERE id=?", (orjson.dumps(fault), fault_id))
            return fault

    def clear_faults(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM faults WHERE namespace=?", (self.namespace,))

    # -- clock and key ------------------------------------------------------------------

    def clock_now(self) -> float:
        return float(self._rows("SELECT now FROM clocks WHERE namespace=?", self.namespace)[0][0])

    def clock_advance(self, seconds: float) -> float:
        with self._write() as db:
            db.execute("UPDATE clocks SET now=now+? WHERE namespace=?", (seconds, self.namespace))
            found = db.execute(
                "SELECT now FROM clocks WHERE namespace=?", (self.namespace,)
            ).fetchone()
            return float(found[0])

    def result_key(self) -> bytes:
        rows = self._rows("SELECT result_key FROM clocks WHERE namespace=?", self.namespace)
        return bytes(rows[0][0])

    def close(self) -> None:
        """Close the connection (checkpointing the log when it is the last); the next
        call opens it again, in this process or a forked one."""
        if self._db is not None:
            self._db.close()
            self._db = None
