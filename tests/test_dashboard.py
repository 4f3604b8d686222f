"""The dashboard (GET /_mock/ui) in a real browser: Debian's headless Chromium, driven
through its own chromedriver by Selenium (no browser or driver is downloaded)."""

from __future__ import annotations

import http.server
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import loopback_http_server

from mockserver import FreepikMockServer

pytestmark = pytest.mark.slow

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CREATE = "/v1/ai/reference-to-video/kling-v3-omni-std"
KEY = {"x-freepik-api-key": "test-key"}


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    arguments = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
    for argument in [*arguments, "--window-size=1400,900", "--no-proxy-server"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


class FlakyReceiver:
    """A loopback webhook receiver: 500 to the first delivery, 200 to every other."""

    def __init__(self) -> None:
        self.answered: list[int] = []
        self.url = ""
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                status = 500 if not receiver.answered else 200
                receiver.answered.append(status)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.handler = Handler


@pytest.fixture
def receiver() -> Iterator[FlakyReceiver]:
    flaky = FlakyReceiver()
    with loopback_http_server(flaky.handler) as base_url:
        flaky.url = base_url + "/hook"
        yield flaky


@pytest.fixture
def served(receiver: FlakyReceiver) -> Iterator[tuple[FreepikMockServer, str]]:
    """A live fake holding one COMPLETED task whose first webhook got a 500, then 200s."""
    with FreepikMockServer() as mock:
        response = httpx.post(
            mock.base_url + CREATE,
            json={"video_url": "https://example.com/a.mp4", "webhook_url": receiver.url},
            headers=KEY,
            trust_env=False,
        )
        task_id = response.json()["data"]["task_id"]
        mock.advance(10)
        assert receiver.answered == [500, 200, 200]
        yield mock, task_id


def wait_for_text(driver: WebDriver, element_id: str, text: str, timeout: float = 15) -> str:
    def shown(d: WebDriver) -> str | bool:
        content: str = d.find_element(By.ID, element_id).text
        return content if text in content else False

    found = WebDriverWait(driver, timeout).until(shown)
    return str(found)


def open_task(driver: WebDriver, base_url: str, task_id: str) -> None:
    driver.get(base_url + "/_mock/ui")
    row = f'#tasks tr[data-task-id="{task_id}"]'
    WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, row))
    driver.find_element(By.CSS_SELECTOR, row).click()
    wait_for_text(driver, "task-summary", task_id)


def test_the_page_shows_a_task_its_statuses_and_both_webhook_attempts(
    browser: WebDriver, served: tuple[FreepikMockServer, str]
) -> None:
    mock, task_id = served
    open_task(browser, mock.base_url, task_id)
    assert task_id in browser.find_element(By.ID, "tasks").text
    statuses = wait_for_text(browser, "statuses", "COMPLETED")
    assert [line.split()[0] for line in statuses.splitlines()] == [
        "CREATED", "IN_PROGRESS", "COMPLETED",
    ]  # fmt: skip
    attempts = [
        row.text for row in browser.find_elements(By.CSS_SELECTOR, "#webhooks tbody tr.attempt")
    ]
    assert len(attempts) == 3
    assert "HTTP 500" in attempts[0] and "retrying" in attempts[0]
    assert "HTTP 200" in attempts[1] and "delivered" in attempts[1]
    assert "COMPLETED" in attempts[2] and "delivered" in attempts[2]
    create_id = mock.journal()[0]["request_id"]
    assert create_id in browser.find_element(By.ID, "requests").text


def test_the_page_refreshes_live_and_its_buttons_force_a_status_and_add_a_fault(
    browser: WebDriver, served: tuple[FreepikMockServer, str]
) -> None:
    mock, _ = served
    later = httpx.post(
        mock.base_url + CREATE,
        json={"video_url": "https://example.com/b.mp4"},
        headers=KEY,
        trust_env=False,
    ).json()["data"]["task_id"]
    open_task(browser, mock.base_url, later)
    # Newest first.
    rows = browser.find_elements(By.CSS_SELECTOR, "#tasks tbody tr")
    assert rows[0].get_attribute("data-task-id") == later
    mock.advance(1.5)  # IN_PROGRESS, seen by the next poll
    wait_for_text(browser, "statuses", "IN_PROGRESS")
    browser.find_element(By.CSS_SELECTOR, 'button[data-status="FAILED"]').click()
    wait_for_text(browser, "statuses", "FAILED")
    assert mock.task(later)["status"] == "FAILED"
    # Filters: by status, then by id.
    status_filter = browser.find_element(By.ID, "filter-status")
    status_filter.find_element(By.CSS_SELECTOR, 'option[value="COMPLETED"]').click()
    WebDriverWait(browser, 15).until(lambda d: later not in d.find_element(By.ID, "tasks").text)
    status_filter.find_element(By.CSS_SELECTOR, 'option[value=""]').click()
    browser.find_element(By.ID, "filter-id").send_keys(later[:8])
    WebDriverWait(browser, 15).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#tasks tbody tr")) == 1
    )
    # A fault from the form.
    status = browser.find_element(By.ID, "fault-status")
    status.clear()
    status.send_keys("429")
    browser.find_element(By.CSS_SELECTOR, '#fault-form button[type="submit"]').click()
    wait_for_text(browser, "faults", "429")
    assert [f["status"] for f in mock.faults()] == [429]


def test_the_page_shows_the_namespace_picked_and_only_its_tasks(
    browser: WebDriver, served: tuple[FreepikMockServer, str]
) -> None:
    mock, default_task = served
    theirs = httpx.post(
        mock.base_url + CREATE,
        json={"video_url": "https://example.com/c.mp4"},
        headers={**KEY, "x-freepik-mock-namespace": "ci-42"},
        trust_env=False,
    ).json()["data"]["task_id"]
    open_task(browser, mock.base_url, default_task)
    assert theirs not in browser.find_element(By.ID, "tasks").text
    picker = browser.find_element(By.ID, "namespace")
    WebDriverWait(browser, 15).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '#namespace option[value="ci-42"]')
    )
    picker.find_element(By.CSS_SELECTOR, 'option[value="ci-42"]').click()
    wait_for_text(browser, "tasks", theirs)
    assert default_task not in browser.find_element(By.ID, "tasks").text
    assert browser.current_url.endswith("/_mock/ui?namespace=ci-42")
    # The page's URL names the namespace: opened again, it shows the same one.
    browser.get(mock.base_url + "/_mock/ui?namespace=ci-42")
    wait_for_text(browser, "tasks", theirs)


def test_with_a_control_token_the_page_asks_for_it_and_sends_it(browser: WebDriver) -> None:
    with FreepikMockServer(control_token="t0ken") as mock:
        task_id = httpx.post(
            mock.base_url + CREATE,
            json={"video_url": "https://example.com/a.mp4"},
            headers=KEY,
            trust_env=False,
        ).json()["data"]["task_id"]
        browser.get(mock.base_url + "/_mock/ui")
        wait_for_text(browser, "state", "control token")
        browser.find_element(By.ID, "token").send_keys("t0ken")
        browser.find_element(By.CSS_SELECTOR, '#token-form button[type="submit"]').click()
        wait_for_text(browser, "tasks", task_id)
        stored = browser.execute_script(
            "return sessionStorage.getItem('freepik-mock-control-token')"
        )
        assert stored == "t0ken"


def test_a_screenshot_of_the_page(
    browser: WebDriver, served: tuple[FreepikMockServer, str], tmp_path: Path
) -> None:
    mock, task_id = served
    open_task(browser, mock.base_url, task_id)
    wait_for_text(browser, "statuses", "COMPLETED")
    path = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(path))
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert width >= 800 and height >= 600
    # FREEPIK_MOCK_SCREENSHOT=docs/dashboard.png refreshes the README's picture.
    keep = os.environ.get("FREEPIK_MOCK_SCREENSHOT")
    if keep:
        shutil.copyfile(path, keep)
