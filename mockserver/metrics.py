"""One app's Prometheus metrics, served at ``/_mock/metrics`` (control_api.py).

Requests are counted on the hot path in a plain dict, one cell per (operation, status,
namespace) holding histogram buckets and a sum: 0.2-0.5 µs a request, where
prometheus_client's labelled ``Counter`` and ``Histogram`` cost 4 µs. Everything else
(tasks by status, webhook attempts by outcome) is read from the runtimes when scraped.
prometheus_client (60 ms to import) is imported at the first scrape only, and each app
has its own ``CollectorRegistry``: two apps in one process share nothing.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from .routing import RouteIndex
from .states import STATUSES

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry

    from .runtime import MockRuntime

__all__ = ["BUCKETS", "DEFAULT_NAMESPACE", "UNMATCHED", "WEBHOOK_OUTCOMES", "Metrics"]

# Upper bounds (seconds) of the duration histogram: the fake answers in well under a
# millisecond, latency faults add up to minutes.
BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
# The operation label of a request no API route matches: labels stay bounded.
UNMATCHED = "unmatched"
# The namespace label until a runtime says otherwise.
DEFAULT_NAMESPACE = "default"
# What a webhook attempt ends as (webhooks.py): each has a sample, zero or not.
WEBHOOK_OUTCOMES = ("delivered", "retrying", "failed", "refused")

_SUM = len(BUCKETS) + 1  # a cell: one count per bucket, +Inf last, then the sum


class Metrics:
    """Counts one app's API requests and reads its runtimes' state when scraped.

    ``routes`` are the API's routes (a request none matches is ``unmatched``);
    ``runtimes`` gives the runtimes to report on, each labelled with its ``namespace``.
    """

    def __init__(
        self, routes: Sequence[BaseRoute], runtimes: Callable[[], Iterable[MockRuntime]]
    ) -> None:
        self._routes = tuple(routes)
        self._index = RouteIndex(self._routes)  # not all of a whole spec's per 404
        self._names = frozenset(getattr(route, "name", UNMATCHED) for route in self._routes)
        self._runtimes = runtimes
        self._cells: dict[tuple[str, int | None, str], list[Any]] = {}
        self._registry: CollectorRegistry | None = None

    def observe(
        self,
        scope: Scope,
        status: int | None,
        seconds: float,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        """Count one API request answered with ``status`` (None: none was) in ``seconds``."""
        # The router leaves the route it matched in the scope; faulted and rate-limited
        # requests never reach it.
        route = scope.get("route")
        name = route.name if route is not None else self._match(scope)
        key = (name, status, namespace)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = [0] * _SUM + [0.0]
        cell[bisect_left(BUCKETS, seconds)] += 1
        cell[_SUM] += seconds

    def _match(self, scope: Scope) -> str:
        for route in self._index.candidates(get_route_path(scope)):
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return str(getattr(route, "name", UNMATCHED))
        return UNMATCHED

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

        if self._registry is None:
            from prometheus_client.registry import CollectorRegistry

            self._registry = CollectorRegistry(auto_describe=False)
            self._registry.register(self)
        return generate_latest(self._registry), CONTENT_TYPE_LATEST

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.metrics_core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        requests = CounterMetricFamily(
            "freepik_mock_requests",
            "API requests answered, by operation id and status ('none': the connection "
            "was dropped or the client left before an answer)",
            labels=["operation", "status", "namespace"],
        )
        durations: dict[tuple[str, str], list[Any]] = {}
        for (operation, status, namespace), cell in list(self._cells.items()):
            requests.add_metric(
                [operation, "none" if status is None else str(status), namespace],
                sum(cell[:_SUM]),
            )
            total = durations.setdefault((operation, namespace), [0] * _SUM + [0.0])
            for i, value in enumerate(cell):
                total[i] += value
        yield requests

        histogram = HistogramMetricFamily(
            "freepik_mock_request_duration_seconds",
            "Time from an API request's arrival to the end of its answer",
            labels=["operation", "namespace"],
        )
        for (operation, namespace), total in sorted(durations.items()):
            buckets, running = [], 0
            for bound, count in zip([*map(_bound, BUCKETS), "+Inf"], total[:_SUM], strict=True):
                running += count
                buckets.append((bound, running))
            histogram.add_metric([operation, namespace], buckets, total[_SUM])
        yield histogram

        tasks = GaugeMetricFamily(
            "freepik_mock_tasks", "Tasks held, by status", labels=["status", "namespace"]
        )
        deliveries = CounterMetricFamily(
            "freepik_mock_webhook_deliveries",
            "Webhook delivery attempts, by outcome (retrying: failed, to be retried; "
            "failed: the last attempt failed; refused: the URL is not allowed)",
            labels=["outcome", "namespace"],
        )
        for runtime in self._runtimes():
            namespace = getattr(runtime, "namespace", DEFAULT_NAMESPACE)
            held = Counter(task.status for task in runtime.store.all())
            for name in STATUSES:
                tasks.add_metric([name, namespace], held[name])
            outcomes = runtime.webhooks.outcomes
            for outcome in WEBHOOK_OUTCOMES:
                deliveries.add_metric([outcome, namespace], outcomes[outcome])
        yield tasks
        yield deliveries


def _bound(seconds: float) -> str:
    return repr(seconds)
