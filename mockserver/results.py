"""Result URLs in the CDN's form: signed, expiring, and served by the fake itself.

The live API hands out ``https://cdn-magnific.freepik.com/kling_<task_id>.mp4?token=
exp=<unix>~hmac=<64 hex>``: a URL that stops working about an hour after the answer that
gave it. The fake hands out ``<base>/_mock/cdn/kling_<task_id>.mp4?token=exp=...~hmac=...``
(for other families, their own stem and extension: ``result_media.py``)
built from the host of the request that reads the task (so a fake restarted on another
port never points at a dead one), signed with a key of this fake's own, and valid for
``ttl`` seconds on the fake's clock (a manual clock can expire it). Each read hands out a
fresh URL; an expired or tampered one answers 403, as a CDN does. A URL handed out in a
namespace other than the default names it (``&namespace=NAME``): whoever fetches the video
sends no namespace header, and each namespace signs with a key of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from urllib.parse import quote

from .clock import Clock
from .constants import NAMESPACE_QUERY
from .result_media import VIDEO, ResultMedia
from .states import COMPLETED

__all__ = ["ResultUrls"]

_TOKEN = re.compile(r"exp=(\d{1,12})~hmac=([0-9a-f]{64})")


class ResultUrls:
    def __init__(
        self, clock: Clock, ttl: float, key: bytes | None = None, *, namespace: str | None = None
    ) -> None:
        if not ttl > 0 or not math.isfinite(ttl):
            raise ValueError("the result URL lifetime must be a positive number of seconds")
        self.clock = clock
        self.ttl = ttl
        # A key per fake: URLs one fake signed mean nothing to another.
        self._key = key if key is not None else secrets.token_bytes(32)
        # Keyed once: a copy per signature skips hashing the padded key twice.
        self._keyed = hmac.new(self._key, digestmod=hashlib.sha256)
        self._suffix = "" if namespace is None else f"&{NAMESPACE_QUERY}={quote(namespace)}"

    def generated(
        self, task_id: str, status: str, base_url: str, media: ResultMedia = VIDEO
    ) -> tuple[str, ...]:
        """The ``generated`` list of a task: once COMPLETED, one signed URL of its
        family's result ``media`` (a Kling video unless told otherwise)."""
        if status != COMPLETED:
            return ()
        path = media.path(task_id)
        expires = math.ceil(self.clock.now() + self.ttl)
        token = f"exp={expires}~hmac={self._sign(path, expires)}"
        return (f"{base_url}{path}?token={token}{self._suffix}",)

    def allows(self, path: str, token: str) -> bool:
        """Whether ``token`` is this fake's signature of ``path`` and has not expired."""
        found = _TOKEN.fullmatch(token)
        if found is None:
            return False
        expires = int(found.group(1))
        if not hmac.compare_digest(found.group(2), self._sign(path, expires)):
            return False
        return self.clock.now() <= expires

    def _sign(self, path: str, expires: int) -> str:
        signature = self._keyed.copy()
        signature.update(f"{path}?exp={expires}".encode())
        return signature.hexdigest()
