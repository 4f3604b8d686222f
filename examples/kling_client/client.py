"""Create a video task, poll it with backoff until it ends, download the result."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

API_URL = "https://api.freepik.com"
CREATE_PATH = "/v1/ai/reference-to-video/kling-v3-omni-std"
TASK_PATH = "/v1/ai/reference-to-video/kling-v3-omni/{task_id}"
# Worth another try: rate limited, or the service is having a moment.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 5


class GenerationFailed(Exception):
    """The task ended FAILED (the API says no more than that)."""


class KlingClient:
    """``sleep`` is how the client waits between polls and retries (injectable, so a
    test can move a fake clock instead of waiting)."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = API_URL,
        sleep: Callable[[float], object] = time.sleep,
        http: httpx.Client | None = None,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._sleep = sleep
        self._http = http or httpx.Client(timeout=30)

    def _api(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call, retried with backoff on 429, 5xx and lost connections."""
        attempt, delay = 1, 1.0
        while True:
            try:
                response = self._http.request(
                    method,
                    self._base_url + path,
                    headers={"x-freepik-api-key": self._api_key},
                    **kwargs,
                )
            except httpx.TransportError:
                if attempt == MAX_ATTEMPTS:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or attempt == MAX_ATTEMPTS:
                    response.raise_for_status()
                    return response.json()["data"]
            self._sleep(delay)
            attempt, delay = attempt + 1, delay * 2

    def create(
        self,
        video_url: str,
        prompt: str,
        *,
        aspect_ratio: str = "16:9",
        webhook_url: str | None = None,
    ) -> str:
        """Start a generation; return its task id."""
        body: dict[str, Any] = {
            "video_url": video_url,
            "prompt": prompt,
            "aspect_ratio": aspect_ratio,
        }
        if webhook_url is not None:
            body["webhook_url"] = webhook_url
        task_id: str = self._api("POST", CREATE_PATH, json=body)["task_id"]
        return task_id

    def status(self, task_id: str) -> dict[str, Any]:
        task: dict[str, Any] = self._api("GET", TASK_PATH.format(task_id=task_id))
        return task

    def wait(self, task_id: str, *, first_delay: float = 2.0, max_delay: float = 30.0) -> list[str]:
        """Poll until the task ends, waiting longer each time; return the result URLs."""
        delay = first_delay
        while True:
            task = self.status(task_id)
            if task["status"] == "COMPLETED" and task["generated"]:
                urls: list[str] = task["generated"]
                return urls
            if task["status"] == "FAILED":
                raise GenerationFailed(task_id)
            self._sleep(delay)
            delay = min(delay * 2, max_delay)

    def download(self, url: str) -> bytes:
        """The result video (no API key: result URLs are plain downloads)."""
        response = self._http.get(url)
        response.raise_for_status()
        return response.content
