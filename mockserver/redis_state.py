"""``--state redis://host:port/db``: a :class:`~mockserver.state.SharedBackend` on Redis.

Every process naming the same server and database shares one fake per namespace. Each
change another process may race is one Lua script (Redis runs a script alone), so a
transition, its journal entry and its webhook are written together or not at all, by
whichever process got there first. Keys all come from :class:`Keyspace`,
``fm:{namespace}:...``; scripts build no key names of their own except a task's
delivery queue, so one namespace's keys share one hash tag-free prefix (a single Redis,
or Valkey; a Redis Cluster is not supported).

The client is redis-py's synchronous one: every call is one round trip of well under a
millisecond on a local network, shorter than handing it to a thread would be. A request
makes as few as it can: a process's namespaces share one :class:`RedisLink` (one pool,
the scripts loaded once), and what nearly every request reads and seldom changes (a task,
the fault rules, the heads of the schedule, the manual clock) is answered from memory
kept up to date by Redis itself (``redis_tracking.py``), so a GET by id costs one round
trip (its journal entry) and a valid POST two.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import redis

from .redis_tracking import TrackedReads
from .state import DUE_ALREADY, Move, StateError
from .states import TERMINAL_STATUSES
from .tasks import Task
from .webhooks import Delivery

__all__ = ["Keyspace", "RedisBackend", "RedisLink"]


class Keyspace:
    """Every key of one namespace: ``fm:{namespace}:{what}``."""

    def __init__(self, namespace: str) -> None:
        self.prefix = f"fm:{namespace}:"

    def __call__(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def task(self, task_id: str) -> str:
        return self("task", task_id)

    def listed(self, owner: str, family: str) -> str:
        return self("listed", owner, family)

    def queue(self, task_id: str) -> str:
        return self("wh", "q", task_id)

    def tracked(self) -> tuple[str, ...]:
        """The prefixes of the keys whose reads are kept in memory (none a prefix of
        another: Redis refuses overlapping ones)."""
        return (
            self("task", ""),
            self("faults"),
            self("due"),
            self("wh", "ready"),
            self("wh", "leases"),
            self("clock"),
        )


# KEYS: task, due, queue, ready, owners, journal, journal seq, pending
# ARGV: expected, status, at, due ('' ends), task id, delivery ('' none), delivery due,
#       journal entry ('' none), journal size
_MOVE = """
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated_at', ARGV[3])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], ARGV[5])
else
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
end
if ARGV[6] ~= '' then
  redis.call('INCR', KEYS[8])
  -- The task's first delivery waiting: ready now; else it follows the one before it.
  local waiting = redis.call('RPUSH', KEYS[3], ARGV[6])
  if waiting == 1 and redis.call('HEXISTS', KEYS[5], ARGV[5]) == 0 then
    redis.call('ZADD', KEYS[4], ARGV[7], ARGV[5])
  end
end
if ARGV[8] ~= '' then
  local id = redis.call('INCR', KEYS[7])
  redis.call('RPUSH', KEYS[6], id .. '\\t' .. ARGV[8])
  redis.call('LTRIM', KEYS[6], -tonumber(ARGV[9]), -1)
end
return 1
"""

# KEYS: task; ARGV: outcome, reason ('' none), terminal statuses...
_SET_OUTCOME = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
for i = 3, #ARGV do if status == ARGV[i] then return 0 end end
redis.call('HSET', KEYS[1], 'outcome', ARGV[1])
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'failure_reason')
else redis.call('HSET', KEYS[1], 'failure_reason', ARGV[2]) end
return 1
"""

# KEYS: ready, leases, owners; ARGV: now, wall now, lease until, limit, queue prefix, token
# Claims whose lease ran out are due again now; then the due heads are claimed.
_CLAIM = """
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZADD', KEYS[1], ARGV[1], id)
end
local claimed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[4])) do
  redis.call('ZREM', KEYS[1], id)
  local head = redis.call('LINDEX', ARGV[5] .. id, 0)
  if head then
    redis.call('ZADD', KEYS[2], ARGV[3], id)
    redis.call('HSET', KEYS[3], id, ARGV[6])
    table.insert(claimed, head)
  end
end
return claimed
"""

# KEYS: ready, leases, owners, queue, log, log seq, pending
# ARGV: task id, token, at, log entry, log size, retried delivery ('' finished), its due
_RELEASE = """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local id = redis.call('INCR', KEYS[6])
redis.call('RPUSH', KEYS[5], id .. '\\t' .. ARGV[4])
redis.call('LTRIM', KEYS[5], -tonumber(ARGV[5]), -1)
if ARGV[6] ~= '' then
  redis.call('LSET', KEYS[4], 0, ARGV[6])
  redis.call('ZADD', KEYS[1], ARGV[7], ARGV[1])
  return 1
end
redis.call('LPOP', KEYS[4])
redis.call('DECR', KEYS[7])
local head = redis.call('LINDEX', KEYS[4], 0)
if head then
  local due = cjson.decode(head)['due_at']
  if due < tonumber(ARGV[3]) then due = tonumber(ARGV[3]) end
  redis.call('ZADD', KEYS[1], due, ARGV[1])
end
return 1
"""

# KEYS: task, all, listed, due; ARGV: task id, due ('' none), then the task's fields and
# values in pairs
_ADD_TASK = """
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[1])
if ARGV[2] ~= '' then redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1]) end
"""

# KEYS: journal, journal seq; ARGV: entry, journal size
_JOURNAL_APPEND = """
local id = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], id .. '\\t' .. ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
"""

# KEYS: faults; ARGV: fault id
_FAULT_USE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return nil end
local fault = cjson.decode(raw)
fault['matched'] = fault['matched'] + 1
if fault['times'] ~= cjson.null then
  fault['times'] = fault['times'] - 1
  if fault['times'] <= 0 then
    redis.call('HDEL', KEYS[1], ARGV[1])
    return cjson.encode(fault)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(fault))
return cjson.encode(fault)
"""

# Task fields that may be absent (None).
_OPTIONAL = ("aspect_ratio", "webhook_url", "failure_reason")


def _task_mapping(task: Task) -> dict[str, str | float]:
    fields: dict[str, str | float] = {
        name: value for name, value in task._asdict().items() if value is not None
    }
    return fields


def _task(fields: dict[str, str]) -> Task:
    return Task(
        task_id=fields["task_id"],
        owner=fields["owner"],
        status=fields["status"],
        created_at=float(fields["created_at"]),
        updated_at=float(fields["updated_at"]),
        outcome=fields["outcome"],
        aspect_ratio=fields.get("aspect_ratio"),
        webhook_url=fields.get("webhook_url"),
        base_url=fields["base_url"],
        request_json=fields.get("request_json", "{}"),
        failure_reason=fields.get("failure_reason"),
        family=fields.get("family", ""),
    )


def delivery_json(delivery: Delivery) -> str:
    return orjson.dumps(
        {
            "webhook_id": delivery.webhook_id,
            "task_id": delivery.task_id,
            "event": delivery.event,
            "url": delivery.url,
            "body": delivery.body.decode(),
            "attempts": delivery.attempts,
            "reason": delivery.reason,
            "due_at": delivery.due_at,
        }
    ).decode()


def delivery_from_json(raw: str | bytes) -> Delivery:
    fields = orjson.loads(raw)
    return Delivery(
        fields["webhook_id"],
        fields["task_id"],
        fields["event"],
        fields["url"],
        fields["body"].encode(),
        int(fields["attempts"]),
        fields.get("reason"),
        float(fields["due_at"]),
    )


def _entries(raw: list[str]) -> list[dict[str, Any]]:
    """Log lines ``id<TAB>json`` as dicts with their id."""
    found = []
    for line in raw:
        ident, _, text = line.partition("\t")
        entry = orjson.loads(text)
        entry["id"] = int(ident)
        found.append(entry)
    return found


class RedisLink:
    """One process's way to one Redis server, shared by every namespace of an app: the
    connection pool, the scripts (loaded once, then run by their SHA1) and the reads
    kept in memory."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            # Any: redis-py's hints type every answer bytes | str, whatever
            # decode_responses says; with it, every answer here is str.
            self.redis: Any = redis.Redis.from_url(
                url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5
            )
            self.redis.ping()
        except (redis.RedisError, ValueError) as exc:
            raise StateError(f"cannot use Redis at {url}: {exc}") from None
        self.tracked = TrackedReads(url)
        register = self.redis.register_script
        self.add_task = register(_ADD_TASK)
        self.move = register(_MOVE)
        self.set_outcome = register(_SET_OUTCOME)
        self.claim = register(_CLAIM)
        self.release = register(_RELEASE)
        self.journal_append = register(_JOURNAL_APPEND)
        self.fault_use = register(_FAULT_USE)
        # The connection scripts run on, held (see run) by the process that took it.
        self._held: Any = None
        self._held_by = 0

    def __repr__(self) -> str:
        return f"RedisLink({self.url!r}, {self.tracked!r})"

    def run(self, script: Any, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        """``script``'s answer, run by its SHA1 on a connection held for it: half the
        client's cost per call of going through the pool (25 us of about 50 on
        loopback), on the calls nearly every request makes."""
        return self.run_many(script, [(keys, args)])[0]

    def run_many(
        self, script: Any, calls: Sequence[tuple[Sequence[str], Sequence[str | int]]]
    ) -> list[Any]:
        """``script`` run once per ``(keys, args)``, all sent in one round trip, in
        order; their answers. A script Redis does not hold (restarted, flushed) is
        sent whole, by redis-py, for the calls it failed."""
        commands = [("EVALSHA", script.sha, len(keys), *keys, *args) for keys, args in calls]
        conn = self._held
        if conn is None or self._held_by != os.getpid():
            conn = self._held = self.redis.connection_pool.get_connection()
            self._held_by = os.getpid()
        try:
            try:
                answers = self._exchange(conn, commands)
            except (redis.ConnectionError, redis.TimeoutError):
                conn.disconnect()  # as redis-py's own retry: once, on a fresh connection
                answers = self._exchange(conn, commands)
        except BaseException:
            conn.disconnect()  # whatever it was, the next call starts afresh
            raise
        for index, answer in enumerate(answers):
            if isinstance(answer, redis.exceptions.NoScriptError):
                keys, args = calls[index]
                answers[index] = script(keys=keys, args=args)
            elif isinstance(answer, redis.ResponseError):
                raise answer
        return answers

    @staticmethod
    def _exchange(conn: Any, commands: list[tuple[Any, ...]]) -> list[Any]:
        conn.send_packed_command(conn.pack_commands(commands))
        answers: list[Any] = []
        for _ in commands:
            try:
                answers.append(conn.read_response())
            except redis.ResponseError as exc:  # read the others' answers all the same
                answers.append(exc)
        return answers

    def close(self) -> None:
        # All open again when next used, in this process or a fork.
        self.tracked.close()
        if self._held is not None and self._held_by == os.getpid():
            self._held.disconnect()
        self._held = None
        self.redis.connection_pool.disconnect()


class RedisBackend:
    """One namespace of one Redis database, over a :class:`RedisLink` (its own, unless
    one is passed: an app passes every namespace the same)."""

    def __init__(
        self,
        url: str,
        namespace: str,
        *,
        lease: float,
        journal_size: int = 1000,
        log_size: int = 10_000,
        link: RedisLink | None = None,
    ) -> None:
        self.namespace = namespace
        self.where = url
        self.keys = Keyspace(namespace)
        self._lease = lease
        self._journal_size = max(1, journal_size)
        self._log_size = max(1, log_size)
        # Who holds a claim: this process, so that a claim taken over is not released.
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.link = link if link is not None else RedisLink(url)
        self._redis: Any = self.link.redis
        self._tracked = self.link.tracked
        self._tracked.watch(*self.keys.tracked())
        keys = self.keys
        self._due_key = keys("due")
        self._faults_key = keys("faults")
        self._clock_key = keys("clock")
        self._ready_key = keys("wh", "ready")
        self._leases_key = keys("wh", "leases")
        # KEYS of the move script but the task's and its queue's, in order.
        self._move_keys = (
            self._due_key,
            self._ready_key,
            keys("wh", "owners"),
            keys("journal"),
            keys("journal", "seq"),
            keys("wh", "pending"),
        )
        self._journal_keys = [keys("journal"), keys("journal", "seq")]
        try:
            # Set once per namespace: the first process to open it wins.
            pipe = self._redis.pipeline(transaction=False)
            pipe.set(self._clock_key, repr(time.time()), nx=True)
            pipe.set(keys("result_key"), secrets.token_hex(32), nx=True)
            pipe.execute()
        except redis.RedisError as exc:
            raise StateError(f"cannot use Redis at {url}: {exc}") from None

    def __repr__(self) -> str:
        return f"RedisBackend({self.where!r}, namespace={self.namespace!r})"

    # -- tasks --------------------------------------------------------------------------

    def add_task(self, task: Task, due: float | None) -> None:
        keys = self.keys
        fields: list[str] = []
        for name, value in _task_mapping(task).items():
            fields += (name, value if isinstance(value, str) else repr(value))
        try:
            self.link.run(
                self.link.add_task,
                [
                    keys.task(task.task_id),
                    keys("all"),
                    keys.listed(task.owner, task.family),
                    self._due_key,
                ],
                [task.task_id, "" if due is None else repr(due), *fields],
            )
        finally:
            self._tracked.forget(keys.task(task.task_id), self._due_key)

    def get_task(self, task_id: str) -> Task | None:
        key = self.keys.task(task_id)
        return self._tracked.get(key, lambda: self._read_task(key))

    def get_tasks(self, task_ids: Sequence[str]) -> list[Task | None]:
        pipe = self._redis.pipeline(transaction=False)
        for task_id in task_ids:
            pipe.hgetall(self.keys.task(task_id))
        return [_task(fields) if fields else None for fields in pipe.execute()]

    def _read_task(self, key: str) -> Task | None:
        fields: dict[str, str] = self._redis.hgetall(key)
        return _task(fields) if fields else None

    def set_outcome(self, task_id: str, outcome: str, reason: str | None) -> bool:
        key = self.keys.task(task_id)
        try:
            done = self.link.run(
                self.link.set_outcome,
                keys=[key],
                args=[outcome, reason or "", *sorted(TERMINAL_STATUSES)],
            )
        finally:
            self._tracked.forget(key)
        if done == -1:
            raise KeyError(task_id)
        return bool(done)

    def move(
        self,
        before: Task,
        after: Task,
        due: float | None,
        delivery: Delivery | None,
        journal_entry: dict[str, Any] | None,
    ) -> bool:
        return self.move_many([(before, after, due, delivery, journal_entry)])[0]

    def move_many(self, moves: Sequence[Move]) -> list[bool]:
        calls: list[tuple[Sequence[str], Sequence[str | int]]] = []
        forget = [self._due_key]
        due_key, ready_key, *rest = self._move_keys
        for before, after, due, delivery, journal_entry in moves:
            task_id = before.task_id
            task_key = self.keys.task(task_id)
            forget.append(task_key)
            if delivery is not None:  # queued: the ready set's head may change
                forget.append(ready_key)
            keys = [task_key, due_key, self.keys.queue(task_id), ready_key, *rest]
            args: list[str | int] = [
                before.status,
                after.status,
                repr(after.updated_at),
                "" if due is None else repr(due),
                task_id,
                "" if delivery is None else delivery_json(delivery),
                repr(delivery.due_at) if delivery is not None else "",
                "" if journal_entry is None else orjson.dumps(journal_entry).decode(),
                self._journal_size,
            ]
            calls.append((keys, args))
        try:
            done = self.link.run_many(self.link.move, calls)
        finally:
            # Moved or not (then another process moved it): read afresh next time.
            self._tracked.forget(*forget)
        return [bool(answer) for answer in done]

    def due_tasks(self, now: float, limit: int) -> list[str]:
        # Nothing due by now if the schedule's head is later (kept in memory).
        head = self.next_task_due()
        if head is None or head > now:
            return []
        found: list[str] = self._redis.zrangebyscore(
            self._due_key, "-inf", repr(now), start=0, num=limit
        )
        return found

    def next_task_due(self) -> float | None:
        head: float | None = self._tracked.get(self._due_key, self._read_due_head)
        return head

    def _read_due_head(self) -> float | None:
        head = self._redis.zrange(self._due_key, 0, 0, withscores=True)
        return float(head[0][1]) if head else None

    def page(self, owner: str, family: str, offset: int, limit: int) -> list[Task]:
        ids = self._page_ids(owner, family, offset, limit)
        pipe = self._redis.pipeline(transaction=False)
        for task_id in ids:
            pipe.hgetall(self.keys.task(task_id))
        return [_task(fields) for fields in pipe.execute() if fields]

    def status_page(
        self, owner: str, family: str, offset: int, limit: int
    ) -> list[tuple[str, str]]:
        ids = self._page_ids(owner, family, offset, limit)
        pipe = self._redis.pipeline(transaction=False)
        for task_id in ids:
            pipe.hget(self.keys.task(task_id), "status")
        return [
            (task_id, status)
            for task_id, status in zip(ids, pipe.execute(), strict=True)
            if status is not None
        ]

    def _page_ids(self, owner: str, family: str, offset: int, limit: int) -> list[str]:
        if offset < 0 or limit <= 0:
            return []
        # Newest first: the list holds them oldest first.
        ids: list[str] = self._redis.lrange(
            self.keys.listed(owner, family), -(offset + limit), -(offset + 1)
        )
        ids.reverse()
        return ids

    def all_tasks(self) -> list[Task]:
        ids = self._redis.lrange(self.keys("all"), 0, -1)
        pipe = self._redis.pipeline(transaction=False)
        for task_id in ids:
            pipe.hgetall(self.keys.task(task_id))
        return [_task(fields) for fields in pipe.execute() if fields]

    def task_count(self) -> int:
        count: int = self._redis.llen(self.keys("all"))
        return count

    def clear_tasks(self) -> None:
        try:
            self._delete_matching("task:*", "listed:*", "all", "due")
        finally:
            self._tracked.forget_under(self.keys.prefix)

    # -- deliveries ---------------------------------------------------------------------

    def claim(self, now: float, limit: int) -> list[Delivery]:
        keys = self.keys
        wall = time.time()
        try:
            claimed = self.link.run(
                self.link.claim,
                keys=[self._ready_key, self._leases_key, keys("wh", "owners")],
                args=[
                    repr(now),
                    repr(wall),
                    repr(wall + self._lease),
                    limit,
                    keys.queue(""),
                    self._token,
                ],
            )
        finally:
            self._tracked.forget(self._ready_key, self._leases_key)
        return [delivery_from_json(raw) for raw in claimed]

    def next_delivery_due(self) -> float | None:
        leased = self._tracked.get(self._leases_key, lambda: self._head(self._leases_key))
        if leased is not None and leased <= time.time():
            return DUE_ALREADY
        ready: float | None = self._tracked.get(
            self._ready_key, lambda: self._head(self._ready_key)
        )
        return ready

    def _head(self, key: str) -> float | None:
        head = self._redis.zrange(key, 0, 0, withscores=True)
        return float(head[0][1]) if head else None

    def finish_delivery(self, delivery: Delivery, at: float, log_entry: dict[str, Any]) -> bool:
        return self._release_claim(delivery, at, log_entry, retried=False)

    def retry_delivery(self, delivery: Delivery, log_entry: dict[str, Any]) -> bool:
        return self._release_claim(delivery, delivery.due_at, log_entry, retried=True)

    def _release_claim(
        self, delivery: Delivery, at: float, log_entry: dict[str, Any], *, retried: bool
    ) -> bool:
        keys = self.keys
        try:
            done = self.link.run(
                self.link.release,
                keys=[
                    self._ready_key,
                    self._leases_key,
                    keys("wh", "owners"),
                    keys.queue(delivery.task_id),
                    keys("wh", "log"),
                    keys("wh", "log", "seq"),
                    keys("wh", "pending"),
                ],
                args=[
                    delivery.task_id,
                    self._token,
                    repr(at),
                    orjson.dumps(log_entry).decode(),
                    self._log_size,
                    delivery_json(delivery) if retried else "",
                    repr(delivery.due_at),
                ],
            )
        finally:
            self._tracked.forget(self._ready_key, self._leases_key)
        return bool(done)

    def pending_deliveries(self) -> int:
        return int(self._redis.get(self.keys("wh", "pending")) or 0)

    def delivery_log(self, task_id: str | None) -> list[dict[str, Any]]:
        entries = _entries(self._redis.lrange(self.keys("wh", "log"), 0, -1))
        for entry in entries:
            del entry["id"]
        return [e for e in entries if task_id is None or e["task_id"] == task_id]

    def clear_deliveries(self) -> None:
        try:
            self._delete_matching("wh:*")
        finally:
            self._tracked.forget(self._ready_key, self._leases_key)

    # -- journal ------------------------------------------------------------------------

    def journal_append(self, entry: dict[str, Any]) -> None:
        self.link.run(
            self.link.journal_append,
            keys=self._journal_keys,
            args=[orjson.dumps(entry).decode(), self._journal_size],
        )

    def journal_entries(self) -> list[dict[str, Any]]:
        return _entries(self._redis.lrange(self.keys("journal"), 0, -1))

    def clear_journal(self) -> None:
        self._redis.delete(self.keys("journal"))

    # -- faults -------------------------------------------------------------------------

    def fault_add(self, fault: dict[str, Any]) -> dict[str, Any]:
        try:
            ident = int(self._redis.incr(self.keys("faults", "seq")))
            stored = {**fault, "id": ident}
            self._redis.hset(self._faults_key, str(ident), orjson.dumps(stored).decode())
        finally:
            self._tracked.forget(self._faults_key)
        return stored

    def faults(self) -> list[dict[str, Any]]:
        # Copies: a caller may change what it gets, never what is kept.
        return [dict(fault) for fault in self._stored_faults()]

    def _stored_faults(self) -> tuple[dict[str, Any], ...]:
        found: tuple[dict[str, Any], ...] = self._tracked.get(self._faults_key, self._read_faults)
        return found

    def _read_faults(self) -> tuple[dict[str, Any], ...]:
        stored = self._redis.hgetall(self._faults_key)
        return tuple(sorted((orjson.loads(raw) for raw in stored.values()), key=lambda f: f["id"]))

    def fault_count(self) -> int:
        return len(self._stored_faults())

    def fault_use(self, fault_id: int) -> dict[str, Any] | None:
        try:
            raw = self.link.run(self.link.fault_use, keys=[self._faults_key], args=[str(fault_id)])
        finally:
            self._tracked.forget(self._faults_key)
        if raw is None:
            return None
        fault: dict[str, Any] = orjson.loads(raw)
        return fault

    def clear_faults(self) -> None:
        try:
            self._redis.delete(self._faults_key)
        finally:
            self._tracked.forget(self._faults_key)

    # -- clock and key ------------------------------------------------------------------

    def clock_now(self) -> float:
        now: float = self._tracked.get(self._clock_key, self._read_clock)
        return now

    def _read_clock(self) -> float:
        return float(self._redis.get(self._clock_key) or time.time())

    def clock_advance(self, seconds: float) -> float:
        try:
            return float(self._redis.incrbyfloat(self._clock_key, seconds))
        finally:
            self._tracked.forget(self._clock_key)

    def result_key(self) -> bytes:
        return bytes.fromhex(self._redis.get(self.keys("result_key")) or "")

    def close(self) -> None:
        # The link's connections: they open again when next used, here or in a fork.
        self.link.close()

    def _delete_matching(self, *patterns: str) -> None:
        for pattern in patterns:
            batch = list(self._redis.scan_iter(match=self.keys.prefix + pattern, count=1000))
            for start in range(0, len(batch), 1000):
                self._redis.unlink(*batch[start : start + 1000])
