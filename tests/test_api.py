"""The three API operations as a client sees them: exact bodies, auth, scoping, paging."""

from __future__ import annotations

import uuid

import httpx
import pytest
from helpers import AUTH, CREATE, TASKS, VIDEO, client_for, create, fake

from mockserver import FreepikMock, MockConfig, create_app
from mockserver.errors import OBSERVED_INVALID_KEY_BODY

pytestmark = pytest.mark.anyio


async def test_create_returns_a_created_task_with_a_uuid4() -> None:
    async with fake() as client:
        response = await client.post(CREATE, json={"video_url": VIDEO}, headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"data"}
    assert body["data"]["status"] == "CREATED"
    assert body["data"]["generated"] == []
    assert uuid.UUID(body["data"]["task_id"]).version == 4


async def test_each_create_is_a_new_task() -> None:
    async with fake() as client:
        ids = {(await create(client))["task_id"] for _ in range(5)}
    assert len(ids) == 5


async def test_get_by_id_returns_the_task() -> None:
    async with fake() as client:
        task = await create(client)
        response = await client.get(f"{TASKS}/{task['task_id']}", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {
        "data": {"task_id": task["task_id"], "status": "CREATED", "generated": []}
    }


@pytest.mark.parametrize("task_id", ["0ffa1840-b4f1-4f98-b3d7-7ce4d0f4138c", "not-a-uuid"])
async def test_unknown_task_id_is_404_ai_resource_not_found(task_id: str) -> None:
    async with fake() as client:
        response = await client.get(f"{TASKS}/{task_id}", headers=AUTH)
    assert response.status_code == 404
    assert response.json() == {"message": "AI resource not found"}


async def test_invalid_request_lists_every_failing_field() -> None:
    body = {"video_url": "not a uri", "cfg_scale": 2.01, "duration": 5}
    async with fake() as client:
        response = await client.post(CREATE, json=body, headers=AUTH)
    assert response.status_code == 400
    # The live API's envelope and pydantic's wording, in the spec's property order.
    assert response.json() == {
        "message": "Validation error",
        "invalid_params": [
            {
                "field": "body.video_url",
                "reason": "Input should be a valid URL, relative URL without a base",
            },
            {
                "field": "body.duration",
                "reason": "Input should be '3', '4', '5', '6', '7', '8', '9', '10', '11', "
                "'12', '13', '14' or '15'",
            },
            {"field": "body.cfg_scale", "reason": "Input should be less than or equal to 2"},
        ],
    }


async def test_the_spec_profile_answers_as_the_spec_example() -> None:
    async with fake(profile="spec") as client:
        response = await client.post(CREATE, json={}, headers=AUTH)
    assert response.json() == {
        "message": "Your request parameters didn't validate.",
        "invalid_params": [{"name": "video_url", "reason": "Parameter 'video_url' is required"}],
    }


@pytest.mark.parametrize(
    ("content", "field", "reason"),
    [
        (b"{not json", "body.1", "JSON decode error"),
        (b"", "body", "Field required"),
        (b'{"video_url": NaN}', "body.14", "JSON decode error"),
    ],
)
async def test_unreadable_bodies_get_400_saying_where(
    content: bytes, field: str, reason: str
) -> None:
    async with fake() as client:
        response = await client.post(
            CREATE, content=content, headers={**AUTH, "content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Validation error",
        "invalid_params": [{"field": field, "reason": reason}],
    }


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"video_url=x", "application/x-www-form-urlencoded"), (b"<xml/>", "text/xml")],
)
async def test_bodies_of_other_media_types_get_400_saying_what_to_send(
    content: bytes, content_type: str
) -> None:
    async with fake() as client:
        response = await client.post(
            CREATE, content=content, headers={**AUTH, "content-type": content_type}
        )
    assert response.status_code == 400
    assert response.json() == {
        "message": f"Content-Type '{content_type}' is not supported; send application/json"
    }


async def test_a_json_array_body_is_refused_as_not_an_object() -> None:
    async with fake() as client:
        response = await client.post(CREATE, json=[{"video_url": VIDEO}], headers=AUTH)
    assert response.status_code == 400
    assert response.json()["invalid_params"] == [
        {
            "field": "body",
            "reason": "Input should be a valid dictionary or object to extract fields from",
        }
    ]


async def test_a_body_without_content_type_is_read_as_json() -> None:
    async with fake() as client:
        response = await client.post(
            CREATE, content=b'{"video_url": "%s"}' % VIDEO.encode(), headers=AUTH
        )
    assert "content-type" not in response.request.headers  # README: read as JSON
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", CREATE), ("GET", TASKS), ("GET", f"{TASKS}/0ffa1840-b4f1-4f98-b3d7-7ce4d0f4138c")],
)
async def test_every_api_route_needs_a_key(method: str, path: str) -> None:
    async with fake() as client:
        missing = await client.request(method, path, json={"video_url": VIDEO})
        empty = await client.request(
            method, path, json={"video_url": VIDEO}, headers={"x-freepik-api-key": ""}
        )
    assert missing.status_code == empty.status_code == 401
    assert missing.json() == empty.json() == {"message": "Missing API key"}


async def test_configured_keys_refuse_other_keys() -> None:
    async with fake(api_keys=("good-1", "good-2")) as client:
        bad = await client.post(
            CREATE, json={"video_url": VIDEO}, headers={"x-freepik-api-key": "nope"}
        )
        good = await client.post(
            CREATE, json={"video_url": VIDEO}, headers={"x-freepik-api-key": "good-2"}
        )
    assert bad.status_code == 401
    # Byte for byte as recorded from the live API, trailing newline included.
    assert bad.content == OBSERVED_INVALID_KEY_BODY
    assert bad.headers["content-length"] == "220"
    assert bad.json()["message"].startswith("Unauthorized: The provided API key is invalid.")
    assert good.status_code == 200


async def test_the_spec_profile_answers_a_wrong_key_as_the_spec_example_does() -> None:
    async with fake(api_keys=("good",), profile="spec") as client:
        bad = await client.post(
            CREATE, json={"video_url": VIDEO}, headers={"x-freepik-api-key": "x"}
        )
        missing = await client.post(CREATE, json={"video_url": VIDEO})
    assert bad.json() == {"message": "Invalid API key"}
    assert missing.json() == {"message": "Missing API key"}


async def test_a_missing_key_is_the_documented_answer_in_every_profile() -> None:
    # Never observed: the documented reading is all there is.
    async with fake() as client:
        missing = await client.post(CREATE, json={"video_url": VIDEO})
    assert (missing.status_code, missing.json()) == (401, {"message": "Missing API key"})


async def test_auth_is_checked_before_the_body() -> None:
    async with fake(api_keys=("good",)) as client:
        response = await client.post(CREATE, json={}, headers={"x-freepik-api-key": "bad"})
    assert response.status_code == 401


async def test_tasks_belong_to_the_key_that_created_them() -> None:
    other = {"x-freepik-api-key": "someone-else"}
    async with fake() as client:
        mine = await create(client)
        theirs = await client.get(f"{TASKS}/{mine['task_id']}", headers=other)
        their_list = await client.get(TASKS, headers=other)
        my_list = await client.get(TASKS, headers=AUTH)
    assert theirs.status_code == 404
    assert theirs.json() == {"message": "AI resource not found"}
    assert their_list.json() == {"data": []}
    assert my_list.json() == {"data": [{"task_id": mine["task_id"], "status": "CREATED"}]}


async def test_list_pages_newest_first() -> None:
    async with fake() as client:
        ids = [(await create(client))["task_id"] for _ in range(25)]
        first = (await client.get(TASKS, headers=AUTH)).json()["data"]
        second = (await client.get(TASKS, params={"page": 2}, headers=AUTH)).json()["data"]
        small = (await client.get(TASKS, params={"page": 3, "page_size": 2}, headers=AUTH)).json()[
            "data"
        ]
        beyond = (await client.get(TASKS, params={"page": 9}, headers=AUTH)).json()["data"]
    newest_first = ids[::-1]
    assert [t["task_id"] for t in first] == newest_first[:20]
    assert [t["task_id"] for t in second] == newest_first[20:]
    assert [t["task_id"] for t in small] == newest_first[4:6]
    assert beyond == []
    assert all(set(t) == {"task_id", "status"} for t in first)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "query.page"),
        ({"page_size": "101"}, "query.page_size"),
        ({"page": "x"}, "query.page"),
    ],
)
async def test_bad_paging_parameters_get_400(params: dict[str, str], field: str) -> None:
    async with fake() as client:
        response = await client.get(TASKS, params=params, headers=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Validation error"
    assert [p["field"] for p in body["invalid_params"]] == [field]


async def test_unknown_path_and_wrong_method_answer_json() -> None:
    async with fake() as client:
        unknown = await client.get("/v1/nothing-here", headers=AUTH)
        wrong = await client.delete(CREATE, headers=AUTH)
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Not Found"}
    assert wrong.status_code == 405
    assert wrong.json() == {"message": "Method Not Allowed"}
    assert "POST" in wrong.headers["allow"]


async def test_two_apps_share_nothing() -> None:
    first, second = create_app(MockConfig()), create_app(MockConfig())
    async with client_for(first) as a, client_for(second) as b:
        task = await create(a)
        response = await b.get(f"{TASKS}/{task['task_id']}", headers=AUTH)
    assert response.status_code == 404


async def test_health() -> None:
    async with fake() as client:
        response = await client.get("/_mock/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


PRO = "/v1/ai/reference-to-video/kling-v3-omni-pro"
VIDEO_STD = "/v1/ai/video/kling-v3-omni-std"
VIDEO_PRO = "/v1/ai/video/kling-v3-omni-pro"
VIDEO_TASKS = "/v1/ai/video/kling-v3-omni"


async def test_both_tiers_share_their_familys_task_endpoints() -> None:
    async with fake() as client:
        std = (await client.post(CREATE, json={"video_url": VIDEO}, headers=AUTH)).json()
        pro = (await client.post(PRO, json={"video_url": VIDEO}, headers=AUTH)).json()
        read = await client.get(f"{TASKS}/{pro['data']['task_id']}", headers=AUTH)
        listed = (await client.get(TASKS, headers=AUTH)).json()["data"]
    assert read.status_code == 200 and read.json()["data"]["status"] == "CREATED"
    assert [t["task_id"] for t in listed] == [pro["data"]["task_id"], std["data"]["task_id"]]


async def test_a_task_is_read_only_through_the_family_that_created_it() -> None:
    async with fake() as client:
        video = await client.post(VIDEO_STD, json={"prompt": "A fox in the snow"}, headers=AUTH)
        video_pro = await client.post(VIDEO_PRO, json={"prompt": "A fox"}, headers=AUTH)
        reference = await client.post(CREATE, json={"video_url": VIDEO}, headers=AUTH)
        video_id = video.json()["data"]["task_id"]
        reference_id = reference.json()["data"]["task_id"]
        wrong_family = await client.get(f"{TASKS}/{video_id}", headers=AUTH)
        other_wrong = await client.get(f"{VIDEO_TASKS}/{reference_id}", headers=AUTH)
        right_family = await client.get(f"{VIDEO_TASKS}/{video_id}", headers=AUTH)
        video_list = (await client.get(VIDEO_TASKS, headers=AUTH)).json()["data"]
        reference_list = (await client.get(TASKS, headers=AUTH)).json()["data"]
    assert video.status_code == video_pro.status_code == 200
    assert (wrong_family.status_code, wrong_family.json()) == (
        404,
        {"message": "AI resource not found"},
    )
    assert other_wrong.status_code == 404
    assert right_family.json()["data"]["task_id"] == video_id
    assert [t["task_id"] for t in video_list] == [video_pro.json()["data"]["task_id"], video_id]
    assert [t["task_id"] for t in reference_list] == [reference_id]


async def test_the_create_answer_keys_come_in_the_live_apis_order() -> None:
    async with fake() as client:
        created = await client.post(CREATE, json={"video_url": VIDEO}, headers=AUTH)
    assert list(created.json()["data"]) == ["task_id", "status", "generated"]
    assert created.content.startswith(b'{"data":{"task_id":"')


async def test_the_magnific_brand_serves_the_same_operations_under_its_own_key_header() -> None:
    async with fake(brand="magnific") as client:
        magnific = {"x-magnific-api-key": "k"}
        created = await client.post(CREATE, json={"video_url": VIDEO}, headers=magnific)
        read = await client.get(f"{TASKS}/{created.json()['data']['task_id']}", headers=magnific)
        freepik_key = await client.post(CREATE, json={"video_url": VIDEO}, headers=AUTH)
        journal = (await client.get("/_mock/requests", params={"kind": "request"})).json()
    assert created.status_code == read.status_code == 200
    assert (freepik_key.status_code, freepik_key.json()) == (401, {"message": "Missing API key"})
    assert journal["data"][0]["api_key"] == "sent"
    assert "k" not in {e["body"] for e in journal["data"]}


def test_the_harness_calls_the_brands_own_host() -> None:
    with FreepikMock(brand="magnific") as mock:
        assert mock.base_url == "https://api.magnific.com"
        answer = httpx.post(
            "https://api.magnific.com" + CREATE,
            json={"video_url": VIDEO},
            headers={"x-magnific-api-key": "k"},
        )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "Value error, Either prompt or multi_prompt must be provided, but not both"),
        (
            {"prompt": "a fox", "multi_prompt": ["a fox", "a hen"]},
            "Value error, Either prompt or multi_prompt must be provided, but not both",
        ),
        (
            {"prompt": "a fox", "image_urls": ["https://e.com/1.png"] * 3, "elements": [{}, {}]},
            "Value error, At most 4 elements and reference images in total",
        ),
        (
            {"prompt": "a fox", "voice_ids": ["v1", "v2", "v3"]},
            "Value error, At most 2 voices per task",
        ),
    ],
)
async def test_the_text_to_video_rules_across_fields_come_from_the_spec(
    body: dict[str, object], reason: str
) -> None:
    async with fake() as client:
        refused = await client.post(VIDEO_STD, json=body, headers=AUTH)
        pro = await client.post(VIDEO_PRO, json=body, headers=AUTH)
    assert refused.status_code == pro.status_code == 400
    assert refused.json() == {
        "message": "Validation error",
        "invalid_params": [{"field": "body", "reason": reason}],
    }


async def test_a_text_to_video_request_within_the_rules_is_accepted() -> None:
    async with fake() as client:
        answers = [
            await client.post(VIDEO_STD, json=body, headers=AUTH)
            for body in (
                {"prompt": "a fox"},
                {"multi_prompt": ["a fox", "a hen"]},
                {"prompt": "a fox", "image_urls": ["https://e.com/1.png"] * 2, "elements": [{}]},
                {"prompt": "a fox", "voice_ids": ["v1", "v2"]},
            )
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
