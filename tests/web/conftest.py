from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from signin import signed_in  # type: ignore[import-not-found]
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
        signed_in(client, username, password)

    return sign_in
