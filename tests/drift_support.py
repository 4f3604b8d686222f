"""Where the drift tests find their spec pairs and the upstream snapshots."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "drift"
BASELINE = FIXTURES / "baseline"
CASES = FIXTURES / "cases"
# Copies of upstream specs and docs pages, with provenance (UPSTREAM / "PROVENANCE.md").
UPSTREAM = FIXTURES / "upstream"
UPSTREAM_DOCS = UPSTREAM / "docs"
# The Kling 3 Omni families as the whole Magnific spec has them, cut line for line.
MAGNIFIC = UPSTREAM / "magnific-kling-extract.yaml"
# The reference-to-video std operations only, read as YAML 1.2 and written with quotes.
MAGNIFIC_R2V_STD = UPSTREAM / "freepik-openapi-kacperpaczos-1373326.yaml"

R2V = "/v1/ai/reference-to-video/kling-v3-omni"
VIDEO = "/v1/ai/video/kling-v3-omni"

# The reference-to-video std operations, all that fixtures/drift/baseline holds.
POST = f"POST {R2V}-std"
LIST = f"GET {R2V}"
TASK = f"GET {R2V}/{{task-id}}"
WEBHOOK = "WEBHOOK POST {webhook_url}"
ALL_OPERATIONS = (POST, LIST, TASK)

# The eight operations the vendored spec (openapi/) holds, in its order.
R2V_PRO = f"POST {R2V}-pro"
VIDEO_PRO = f"POST {VIDEO}-pro"
VIDEO_STD = f"POST {VIDEO}-std"
VIDEO_LIST = f"GET {VIDEO}"
VIDEO_TASK = f"GET {VIDEO}/{{task-id}}"
VENDORED = (R2V_PRO, POST, LIST, TASK, VIDEO_PRO, VIDEO_STD, VIDEO_LIST, VIDEO_TASK)


def case(name: str) -> str:
    return str(CASES / f"{name}.yaml")
