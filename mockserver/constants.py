"""Names every layer shares: the control API's paths and header, and result media paths.

A leaf module (it imports nothing of ours), so that the server, the control client and
the test harnesses spell each of these once.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "BRANDS",
    "CONTROL_PREFIX",
    "CONTROL_TOKEN_HEADER",
    "DEFAULT_NAMESPACE",
    "DROP_EXTENSION",
    "FIXTURES_PATH",
    "NAMESPACE_HEADER",
    "NAMESPACE_QUERY",
    "REQUEST_ID_KEY",
    "RESULT_PATH",
    "RESULT_ROUTE",
    "RUNTIME_KEY",
    "TASK_ID_KEY",
    "Brand",
]

# Everything the fake serves beside the API lives under this prefix: the control API,
# health, result media and sample fixtures.
CONTROL_PREFIX: Final = "/_mock"
# Sent by clients of the control API when the fake runs with a control token.
CONTROL_TOKEN_HEADER: Final = "x-mock-control-token"
# Where a completed task's video is served, in the form of the live API's CDN URLs
# (``kling_<task_id>.mp4``), with a signed, expiring token (results.py).
RESULT_PATH: Final = CONTROL_PREFIX + "/cdn/kling_{task_id}.mp4"
# The route of every family's results: ``<stem>_<task_id>.<extension>`` (result_media.py),
# which for a Kling family is RESULT_PATH.
RESULT_ROUTE: Final = CONTROL_PREFIX + "/cdn/{stem}_{task_id}.{extension}"
# Sample media files, so offline tests can point a task's media URLs at them.
FIXTURES_PATH: Final = CONTROL_PREFIX + "/fixtures/"
# Where an API request's x-request-id is kept in its ASGI scope (the journal records it).
REQUEST_ID_KEY: Final = "freepik_mock.request_id"
# A request with this header is served by the fake's runtime of that name (its own
# tasks, faults, clock, journal and webhooks: namespaces.py); without it, the default's.
NAMESPACE_HEADER: Final = "x-freepik-mock-namespace"
DEFAULT_NAMESPACE: Final = "default"
# A result URL handed out in another namespace names it in this query parameter: a video
# player fetching it sends no header.
NAMESPACE_QUERY: Final = "namespace"
# Where the runtime serving a request is kept in its ASGI scope (namespaces.py puts it).
RUNTIME_KEY: Final = "freepik_mock.runtime"
# Where a create keeps the id of the task it made in its ASGI scope (the journal records it).
TASK_ID_KEY: Final = "freepik_mock.task_id"
# The ASGI extension ``serve`` adds to drop a connection before any byte (droppable.py).
DROP_EXTENSION: Final = "freepik_mock.drop"


class Brand(NamedTuple):
    """Where a brand serves the API and which header carries its key."""

    api_url: str
    key_header: str


# Freepik, and the Magnific rebrand, which publishes the same operations under its own
# server and key header (facts file; upstream/magnific-api-v1-openapi.yaml).
BRANDS: Final = {
    "freepik": Brand("https://api.freepik.com", "x-freepik-api-key"),
    "magnific": Brand("https://api.magnific.com", "x-magnific-api-key"),
}
