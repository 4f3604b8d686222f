"""Where the drift tests find their spec pairs and the upstream snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "drift"
BASELINE = FIXTURES / "baseline"
CASES = FIXTURES / "cases"
# CI runs with shared/ beside the clone: <repo>/../shared/upstream.
UPSTREAM = REPO.parent / "shared" / "upstream"
UPSTREAM_DOCS = UPSTREAM / "docs"

needs_upstream = pytest.mark.skipif(
    not UPSTREAM.is_dir(),
    reason=f"upstream spec snapshots not found: {UPSTREAM} (the shared/ folder beside the clone)",
)

POST = "POST /v1/ai/reference-to-video/kling-v3-omni-std"
LIST = "GET /v1/ai/reference-to-video/kling-v3-omni"
TASK = "GET /v1/ai/reference-to-video/kling-v3-omni/{task-id}"
WEBHOOK = "WEBHOOK POST {webhook_url}"
ALL_OPERATIONS = (POST, LIST, TASK)


def case(name: str) -> str:
    return str(CASES / f"{name}.yaml")
