from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from webtools import csrf_from  # type: ignore[import-not-found]

from wanshi.bootstrap import Platform
from wanshi.web.app import create_app


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as c:
        yield c


@pytest.fixture
def login(client: TestClient) -> Callable[[str, str], None]:
    """Sign in through the real form, as a person would."""

    def sign_in(username: str, password: str) -> None:
        token = csrf_from(client.get("/login").text)
        reply = client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        assert reply.status_code == 303, reply.text

    return sign_in
