from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_home_is_chinese_by_default_and_switches_to_english(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "跳到主要内容" in page.text
    english = client.get("/lang/en?next=/", follow_redirects=True)
    assert '<html lang="en">' in english.text
    assert "Skip to main content" in english.text


def test_security_headers_and_request_id(client: TestClient) -> None:
    page = client.get("/", headers={"X-Request-ID": "trace-12345678"})
    assert page.headers["x-request-id"] == "trace-12345678"
    assert page.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert re.fullmatch(
        r"[0-9a-f]{32}", client.get("/", headers={"X-Request-ID": "bad id!"}).headers["x-request-id"]
    )


def test_health_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    client.get("/")
    metrics = client.get("/metrics").text
    assert 'wanshi_http_requests_total{method="GET",route="/",status="200"}' in metrics
    assert "swagger-ui-bundle.js" in client.get("/api/docs").text
    assert client.get("/api/openapi.json").json()["info"]["title"].startswith("Wanshi")
    assert client.get("/static/vendor/htmx-2.0.8/htmx.min.js").status_code == 200


def test_unknown_api_path_gets_the_envelope_and_page_gets_html(client: TestClient) -> None:
    api = client.get("/api/v1/nothing-here")
    assert api.status_code == 404
    body = api.json()["error"]
    assert body["code"] == "not_found"
    assert body["request_id"] == api.headers["x-request-id"]
    page = client.get("/nothing-here")
    assert page.status_code == 404
    assert "找不到请求的页面" in page.text


def test_forms_without_csrf_token_are_refused(client: TestClient) -> None:
    refused = client.post("/login", data={"username": "x", "password": "y"})
    assert refused.status_code == 403
    assert "页面已过期" in refused.text
