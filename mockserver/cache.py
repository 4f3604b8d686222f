"""An on-disk cache of what start-up derives from its inputs, so the next start skips it.

``freepik-mock serve`` spends most of its own start-up reading the spec's YAML (PyYAML
is pure Python here). :func:`cached` keeps such a result in a file named by a sha256 of
everything it derives from (the input's bytes, the package version, the reading code),
so a changed input is a different file: a stale entry can never be served. Values are
marshalled (the format of Python's own ``.pyc`` caches; plain data only) behind a
digest of their own bytes. Writes are atomic (a temporary file renamed into place);
an entry that cannot be read, is corrupt, or cannot be written is silently ignored and
the value computed as if there were no cache.

``FREEPIK_MOCK_CACHE_DIR`` names the folder (default ``$XDG_CACHE_HOME/freepik-mock``,
else ``~/.cache/freepik-mock``); empty or ``off`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["CACHE_DIR_ENV", "cache_dir", "cache_key", "cached", "files_identity"]

CACHE_DIR_ENV = "FREEPIK_MOCK_CACHE_DIR"
_OFF = frozenset({"", "off"})
_MAGIC = b"freepik-mock cache 1\n"
_DIGEST_SIZE = hashlib.sha256().digest_size

T = TypeVar("T")


def cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    env = os.environ if environ is None else environ
    chosen = env.get(CACHE_DIR_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in _OFF else Path(chosen)
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "freepik-mock"


def cache_key(parts: Iterable[bytes]) -> str:
    """A sha256 over ``parts`` (each length-prefixed, so no two lists collide), plus the
    Python version, whose marshal format the entry is in."""
    digest = hashlib.sha256()
    for part in (sys.implementation.cache_tag.encode(), str(marshal.version).encode(), *parts):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def cached(kind: str, parts: Iterable[bytes], compute: Callable[[], T]) -> T:
    """``compute()``, or what it returned last time for the same ``kind`` and ``parts``."""
    folder = cache_dir()
    if folder is None:
        return compute()
    path = folder / f"{kind}-{cache_key(parts)}.marshal"
    found = _read(path)
    if found is not None:
        value: T = found[0]
        return value
    value = compute()
    _write(path, value)
    return value


def files_identity(*paths: Path) -> bytes:
    """The bytes of ``paths`` (nothing for one that cannot be read), as a key part: an
    entry derived by the code in these files is not served once it changes."""
    parts = []
    for path in paths:
        try:
            parts.append(path.read_bytes())
        except OSError:
            parts.append(b"")
    return b"\0".join(parts)


def _read(path: Path) -> tuple[Any] | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + _DIGEST_SIZE
    payload = data[head:]
    if data[: len(_MAGIC)] != _MAGIC or data[len(_MAGIC) : head] != _sha256(payload):
        return None
    try:
        return (marshal.loads(payload),)
    except (EOFError, ValueError, TypeError):
        return None


def _write(path: Path, value: Any) -> None:
    try:
        payload = marshal.dumps(value)
    except ValueError:  # something marshal cannot hold: just do not cache it
        return
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(_MAGIC + _sha256(payload) + payload)
        os.replace(temporary, path)
        temporary = None
    except OSError:
        pass
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
