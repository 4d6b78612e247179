"""Background jobs in the admin area: counts as bars, the dead letters, retry, schedules, and the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from admin_world import PASSWORD, build_world  # type: ignore[import-not-found]
from fastapi.testclient import TestClient
from webtools import csrf_from  # type: ignore[import-not-found]

from wanshi.bootstrap import Platform
from wanshi.infra.jobs import JobContext
from wanshi.infra.uow import JobRequest, UnitOfWork

Login = Callable[[str, str], None]


class Gateway:
    def __init__(self) -> None:
        self.up = False
        self.sent: list[str] = []

    def __call__(self, uow: UnitOfWork, payload: dict[str, Any], ctx: JobContext) -> None:
        if not self.up:
            raise ConnectionError("短信网关无响应")
        self.sent.append(payload["to"])


@pytest.fixture
def gateway(platform: Platform, login: Login) -> Gateway:
    build_world(platform)
    handler = Gateway()
    platform.jobs.handler("t.sms", handler)
    with platform.uow() as uow:
        uow.enqueue(JobRequest("t.sms", {"to": "user-1"}, "t.sms:1", max_attempts=1))
        uow.commit()
    platform.worker().run_until_idle()
    login("admin", PASSWORD)
    return handler


def test_home_shows_job_counts_as_bars(client: TestClient, gateway: Gateway) -> None:
    home = client.get("/admin")
    assert home.status_code == 200
    assert 'class="bar bad"' in home.text
    assert re.search(r"<th scope=\"row\">死信</th>\s*<td>1</td>", home.text)
    assert 'class="w-100"' in home.text  # the largest count fills its bar
    assert "组织数" in home.text
    assert "工作人员账号" in home.text


def test_retrying_a_dead_letter_from_the_page_makes_it_run(
    client: TestClient, platform: Platform, gateway: Gateway
) -> None:
    page = client.get("/admin/jobs")
    assert "死信任务（共 1 个）" in page.text
    assert "短信网关无响应" in page.text
    job_id = re.search(r'action="/admin/jobs/(\d+)/retry"', page.text)
    assert job_id is not None
    retried = client.post(
        f"/admin/jobs/{job_id.group(1)}/retry",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )
    assert f"任务 {job_id.group(1)} 已重新排队" in retried.text
    assert "没有死信任务" in retried.text
    gateway.up = True
    platform.worker().run_until_idle()
    assert gateway.sent == ["user-1"]
    done = client.get("/admin/jobs", params={"state": "done", "kind": "t.sms"})
    assert "共 1 个任务" in done.text
    again = client.post(f"/admin/jobs/{job_id.group(1)}/retry", data={"csrf_token": csrf_from(page.text)})
    assert again.status_code == 409
    assert "只有失败或已进入死信的任务可以重试" in again.text


def test_schedules_are_listed_in_plain_words(
    client: TestClient, platform: Platform, gateway: Gateway
) -> None:
    assert "后台进程尚未登记定时任务" in client.get("/admin/jobs").text
    platform.jobs.every("t.sms.digest", "t.sms", 6 * 3600)
    platform.worker().sync_schedules()
    page = client.get("/admin/jobs").text
    assert "<code>t.sms.digest</code>" in page
    assert "每 6 小时" in page


def test_jobs_api(client: TestClient, platform: Platform, gateway: Gateway) -> None:
    counts = client.get("/api/v1/jobs/counts").json()
    assert counts == {"pending": 0, "retrying": 0, "running": 0, "done": 0, "dead": 1}
    dead = client.get("/api/v1/jobs", params={"status": "dead"}).json()
    assert dead["total"] == 1
    job = dead["items"][0]
    assert (job["kind"], job["retryable"], job["attempts"]) == ("t.sms", True, 1)
    headers = {"X-CSRF-Token": csrf_from(client.get("/admin").text)}
    retried = client.post(f"/api/v1/jobs/{job['id']}/retry", headers=headers).json()
    assert (retried["state"], retried["attempts"], retried["last_error"]) == ("pending", 0, None)
    assert client.post(f"/api/v1/jobs/{job['id']}/retry", headers=headers).json()["error"]["code"] == (
        "job_not_retryable"
    )
    assert client.post("/api/v1/jobs/999999/retry", headers=headers).status_code == 404
    platform.worker().sync_schedules()
    names = {s["name"] for s in client.get("/api/v1/jobs/schedules").json()}
    assert names == set(platform.jobs.schedules)
    assert client.get("/api/v1/jobs", params={"status": "nonsense"}).status_code == 422
