"""``--state PATH``: tasks and pending webhook deliveries kept in one SQLite file.

Write-through: every change is its own committed transaction before the call returns,
so a process killed at any moment (``kill -9``) loses nothing it had answered for. The
file is in WAL mode with ``synchronous=NORMAL``: a commit survives the process dying,
though not necessarily the machine losing power. Reads come from memory (an
:class:`~mockserver.tasks.InMemoryTaskStore` loaded at open), so polling costs what it
costs without a file.

The file is locked for one server at a time (SQLite's exclusive locking mode); the
operating system drops the lock when the process dies, however it dies.

Nothing secret is written: tasks hold a digest of the API key, never the key, and
webhook bodies are stored unsigned (each attempt is signed when it is sent).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .tasks import InMemoryTaskStore, Task, Transition, advance_task
from .webhooks import Delivery

__all__ = ["SCHEMA_VERSION", "SQLiteOutbox", "SQLiteTaskStore", "StateFile", "StateFileError"]

# 2: tasks belong to a family. A version 1 file is refused rather than migrated: its
# tasks have no family, so no API path could read or list them any more.
SCHEMA_VERSION = 2
_BEFORE_FAMILIES = (
    " (an older file, from before tasks had a family, which this version cannot list): "
    "delete it or pass another --state path"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    aspect_ratio TEXT,
    webhook_url TEXT,
    base_url TEXT NOT NULL,
    generated TEXT NOT NULL,
    request_json TEXT NOT NULL,
    failure_reason TEXT,
    family TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL UNIQUE,
    task_id TEXT NOT NULL,
    event TEXT NOT NULL,
    url TEXT NOT NULL,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL
);
"""

_TASK_COLUMNS = (
    "task_id, owner, status, created_at, updated_at, outcome, aspect_ratio, webhook_url, "
    "base_url, generated, request_json, failure_reason, family"
)


class StateFileError(ValueError):
    """The state file cannot be used (locked by another server, or not ours)."""


def _encode(task: Task) -> tuple[object, ...]:
    # ``generated`` is signed afresh at every read (results.py), so nothing lasting can
    # be kept; the column stays, empty, so that older readers of the file still work.
    row = list(task.to_row())
    row.insert(9, "[]")
    return tuple(row)


def _decode(row: tuple[object, ...]) -> Task:
    values = list(row)
    del values[9]
    return Task.from_row(tuple(values))


class SQLiteTaskStore:
    """A :class:`~mockserver.tasks.TaskStore` whose every change is committed to SQLite."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._memory = InMemoryTaskStore()
        for row in connection.execute(f"SELECT {_TASK_COLUMNS} FROM tasks ORDER BY seq"):
            self._memory.add(_decode(row))

    def add(self, task: Task) -> None:
        self._db.execute(
            f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", _encode(task)
        )
        self._memory.add(task)

    def get(self, task_id: str) -> Task | None:
        return self._memory.get(task_id)

    def put(self, task: Task) -> None:
        self._memory.put(task)  # raises KeyError for an unknown task, before any write
        self._db.execute(
            "UPDATE tasks SET owner=?, status=?, created_at=?, updated_at=?, outcome=?, "
            "aspect_ratio=?, webhook_url=?, base_url=?, generated=?, request_json=?, "
            "failure_reason=?, family=? WHERE task_id=?",
            (*_encode(task)[1:], task.task_id),
        )

    def advance(self, task_id: str, finish: bool, at: float) -> Transition | None:
        return advance_task(self, task_id, finish, at)

    def list_for_owner(self, owner: str, family: str, offset: int, limit: int) -> list[Task]:
        return self._memory.list_for_owner(owner, family, offset, limit)

    def statuses_for_owner(
        self, owner: str, family: str, offset: int, limit: int
    ) -> list[tuple[str, str]]:
        return self._memory.statuses_for_owner(owner, family, offset, limit)

    def all(self) -> list[Task]:
        return self._memory.all()

    def clear(self) -> None:
        self._db.execute("DELETE FROM tasks")
        self._memory.clear()

    def __len__(self) -> int:
        return len(self._memory)


class SQLiteOutbox:
    """A :class:`~mockserver.webhooks.DeliveryOutbox` in the same file."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def enqueued(self, delivery: Delivery) -> None:
        self._db.execute(
            "INSERT INTO deliveries (webhook_id, task_id, event, url, body, attempts) "
            "VALUES (?,?,?,?,?,?)",
            (
                delivery.webhook_id,
                delivery.task_id,
                delivery.event,
                delivery.url,
                delivery.body,
                delivery.attempts,
            ),
        )

    def attempted(self, delivery: Delivery) -> None:
        self._db.execute(
            "UPDATE deliveries SET attempts=? WHERE webhook_id=?",
            (delivery.attempts, delivery.webhook_id),
        )

    def finished(self, delivery: Delivery) -> None:
        self._db.execute("DELETE FROM deliveries WHERE webhook_id=?", (delivery.webhook_id,))

    def clear(self) -> None:
        self._db.execute("DELETE FROM deliveries")

    def pending(self) -> list[Delivery]:
        """Deliveries not yet delivered or given up on, in the order they were queued."""
        rows = self._db.execute(
            "SELECT webhook_id, task_id, event, url, body, attempts FROM deliveries ORDER BY seq"
        )
        return [
            Delivery(str(w), str(t), str(e), str(u), bytes(b), int(a)) for w, t, e, u, b, a in rows
        ]


class StateFile:
    """One open state file: its task store and its webhook outbox."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            # Autocommit: each statement is its own transaction, committed on return.
            # Every call comes from the event loop, one at a time, whatever thread made it.
            self._db = sqlite3.connect(
                self.path, isolation_level=None, timeout=1.0, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StateFileError(f"cannot open state file {self.path}: {exc}") from None
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            # Before WAL mode is set: a file refused here is left as it was.
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise StateFileError(
                    f"state file {self.path} has schema version {version}; "
                    f"this freepik-mock reads version {SCHEMA_VERSION}"
                    + (_BEFORE_FAMILIES if version < SCHEMA_VERSION else "")
                )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")  # takes the lock
            self.tasks = SQLiteTaskStore(self._db)
            self.outbox = SQLiteOutbox(self._db)
        except sqlite3.OperationalError as exc:
            self._db.close()
            if "locked" in str(exc):
                raise StateFileError(
                    f"state file {self.path} is in use by another freepik-mock server"
                ) from None
            raise StateFileError(f"cannot use state file {self.path}: {exc}") from None
        except (sqlite3.DatabaseError, StateFileError) as exc:
            self._db.close()
            if isinstance(exc, StateFileError):
                raise
            raise StateFileError(f"cannot use state file {self.path}: {exc}") from None

    def close(self) -> None:
        """Checkpoint the write-ahead log into the file and release it."""
        self._db.close()

    def __repr__(self) -> str:
        return f"StateFile({str(self.path)!r}, tasks={len(self.tasks)})"
