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
    "DROP_EXTENSION",
    "FIXTURES_PATH",
    "REQUEST_ID_KEY",
    "RESULT_PATH",
    "RESULT_ROUTE",
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
