import pytest
from mockserver import FreepikMock

from kling_client import GenerationFailed, KlingClient, create_webhook_app

SECRET = "my-webhook-secret"
VIDEO = "https://example.com/reference.mp4"
WEBHOOK_URL = "https://myapp.example/webhooks/freepik"


@pytest.mark.freepik_mock(webhook_secrets=[SECRET])
def test_generates_a_video_end_to_end(freepik_mock: FreepikMock) -> None:
    webhooks = create_webhook_app(SECRET)
    freepik_mock.deliver_webhooks_to(webhooks)
    # The client's waits move the fake's clock instead of sleeping.
    client = KlingClient("test-key", sleep=freepik_mock.advance)

    task_id = client.create(VIDEO, "@Video1 as a watercolor", webhook_url=WEBHOOK_URL)
    urls = client.wait(task_id)
    video = client.download(urls[0])

    assert video[4:8] == b"ftyp"  # an MP4
    events = webhooks.state.events
    assert [event["status"] for event in events] == ["IN_PROGRESS", "COMPLETED"]
    assert events[-1]["generated"] == urls


def test_a_failed_task_raises(freepik_mock: FreepikMock) -> None:
    client = KlingClient("test-key", sleep=freepik_mock.advance)
    task_id = client.create(VIDEO, "@Video1 at night")

    freepik_mock.fail(task_id, reason="reference video too short")

    with pytest.raises(GenerationFailed):
        client.wait(task_id)


def test_polling_rides_out_rate_limits_and_outages(freepik_mock: FreepikMock) -> None:
    client = KlingClient("test-key", sleep=freepik_mock.advance)
    task_id = client.create(VIDEO, "@Video1 in snow")
    freepik_mock.add_fault(method="GET", status=429)
    freepik_mock.add_fault(method="GET", status=503)

    assert client.wait(task_id)
    polls = [entry["status"] for entry in freepik_mock.journal() if entry["method"] == "GET"]
    assert polls[:3] == [429, 503, 200]


@pytest.mark.freepik_mock(webhook_secrets=["not-my-secret"])
def test_webhooks_with_a_bad_signature_are_rejected(freepik_mock: FreepikMock) -> None:
    webhooks = create_webhook_app(SECRET)
    freepik_mock.deliver_webhooks_to(webhooks)
    client = KlingClient("test-key", sleep=freepik_mock.advance)
    task_id = client.create(VIDEO, "@Video1 in fog", webhook_url=WEBHOOK_URL)

    freepik_mock.complete(task_id)

    assert webhooks.state.events == []
    assert {attempt["status_code"] for attempt in freepik_mock.webhooks(task_id)} == {401}
