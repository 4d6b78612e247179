"""Live sources: resources mounted on a department database (SQLite file, PostgreSQL) or an HTTP API are
previewed and queried through the catalogue, fenced by the allow-list, the read-only rules and the limits."""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from test_catalogue_world import PASSWORD, World, build_world, register

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.config import Settings
from wanshi.datahub.catalogue import api as catalogue
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied, WanshiError
from wanshi.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ID_NUMBER = "340102199001011234"
CODE = "331007001/000001"
ITEMS = (
    catalogue.ItemSpec(name="uscc", label="统一社会信用代码", length=18, required=True, grade="public"),
    catalogue.ItemSpec(name="name", label="企业名称", length=200, required=True, grade="public"),
    catalogue.ItemSpec(name="legal_id", label="法定代表人身份证号", length=18, grade="sensitive"),
    catalogue.ItemSpec(name="phone", label="联系电话", length=20, grade="core"),
    catalogue.ItemSpec(name="founded_on", label="成立日期", data_type="date"),
)


# --- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "live_allowed_hosts": ["127.0.0.1", "*.dept.test", "intranet.test", "10.8.0.0/16"],
            "live_timeout_seconds": 2.0,
            "secrets": {"api_token": SecretStr("s3cret-token")},
        }
    )


@pytest.fixture
def world(platform: Platform) -> World:
    return build_world(platform)


def _mount(
    platform: Platform, world: World, kind: str, *, url: str = "", query: str = "", dataset: str = "",
    secret_ref: str = "", code: str = CODE,
) -> catalogue.Resource:  # fmt: skip
    r = register(platform, world, "yh_clerk", "yaohai", code, items=ITEMS)
    with platform.uow() as uow:
        return catalogue.mount_resource(
            uow,
            catalogue.MountResource(
                resource_id=r.id, kind=kind, url=url, query=query, dataset=dataset, secret_ref=secret_ref
            ),
            world["yh_clerk"],
        )


def _publish(platform: Platform, world: World, resource_id: int) -> None:
    with platform.uow() as uow:
        catalogue.submit_resource(uow, catalogue.SubmitResource(resource_id=resource_id), world["yh_clerk"])
    with platform.uow() as uow:
        catalogue.review_resource(
            uow, catalogue.ReviewResource(resource_id=resource_id, publish=True), world["prov_admin"]
        )


def _rows(
    platform: Platform, world: World, actor: str = "yh_clerk", limit: int = 10
) -> catalogue.ResourceRows:
    config = catalogue.LiveConfig.from_settings(platform.settings)
    with platform.uow() as uow:
        return catalogue.read_rows(uow, platform.datastore, config, CODE, limit, world[actor])


def _sqlite_source(platform: Platform, name: str = "market.db", rows: int = 3) -> str:
    folder = platform.settings.resolved_live_sqlite_dir
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / name}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text('CREATE TABLE entity (uscc TEXT, "企业名称" TEXT, legal_id TEXT, phone TEXT, founded DATE)')
        )
        conn.execute(
            text("INSERT INTO entity VALUES (:u, :n, :i, :p, :f)"),
            [
                {
                    "u": f"9134010{i:011d}",
                    "n": f"企业{i}",
                    "i": ID_NUMBER,
                    "p": "13912345678",
                    "f": "2020-01-02",
                }
                for i in range(rows)
            ],
        )
    engine.dispose()
    return url


def _code(exc: pytest.ExceptionInfo[WanshiError]) -> str:
    return exc.value.error_code


# --- the rules, without a source --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM entity",
        "  select uscc from entity where name = 'a;b' ;  ",
        "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
        "SELECT 1 -- DELETE FROM entity\n",
        'SELECT "update" FROM entity',
    ],
)
def test_a_single_select_is_accepted(query: str) -> None:
    assert catalogue.check_select(query).lower().startswith(("select", "with"))


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM entity",
        "SELECT 1; DROP TABLE entity",
        "SELECT * INTO copy FROM entity",
        "WITH d AS (DELETE FROM entity RETURNING *) SELECT * FROM d",
        "UPDATE entity SET name = 'x'",
        "SELECT 1 /* unterminated",
        "SELECT $$;$$",
        "",
        "PRAGMA writable_schema = 1",
    ],
)
def test_anything_but_one_select_is_refused_with_a_stable_code(query: str) -> None:
    with pytest.raises(catalogue.LiveSourceRefused) as refused:
        catalogue.check_select(query)
    assert _code(refused) == "catalogue_live_query_not_select"
    assert "SELECT" in refused.value.message


def _answer(address: str) -> Callable[[str], list[str]]:
    return lambda _host: [address]


def _config(resolve: Callable[[str], list[str]], *hosts: str) -> catalogue.LiveConfig:
    return catalogue.LiveConfig(allowed_hosts=hosts, resolve=resolve)


def test_hosts_must_be_allow_listed_and_private_addresses_need_a_network_entry() -> None:
    from wanshi.datahub.catalogue.live import guard_host

    public = _config(lambda _h: ["202.102.192.68"], "api.dept.test", "*.ah.gov.cn")
    guard_host("api.dept.test", public)
    guard_host("data.hf.ah.gov.cn", public)
    for host in ("other.test", "ah.gov.cn", "202.102.192.68"):
        with pytest.raises(catalogue.LiveSourceRefused) as refused:
            guard_host(host, public)
        assert _code(refused) == "catalogue_live_host_not_allowed"

    # An allow-listed name pointed at an internal address (DNS rebinding, a cloud metadata endpoint).
    for address in ("10.1.2.3", "127.0.0.1", "169.254.169.254", "::1", "::ffff:192.168.0.1"):
        with pytest.raises(catalogue.LiveSourceRefused) as refused:
            guard_host("api.dept.test", _config(_answer(address), "api.dept.test"))
        assert _code(refused) == "catalogue_live_address_private"
    guard_host("api.dept.test", _config(lambda _h: ["10.8.1.2"], "api.dept.test", "10.8.0.0/16"))
    guard_host("10.8.3.4", _config(lambda _h: [], "10.8.0.0/16"))
    with pytest.raises(catalogue.LiveSourceRefused):
        guard_host("10.9.0.1", _config(lambda _h: [], "10.8.0.0/16"))


def test_secrets_come_from_the_settings_or_the_secrets_folder_never_from_outside_it(tmp_path: Path) -> None:
    from wanshi.datahub.catalogue.live import resolve_secret

    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "dept_db").write_text("pa55word\n", encoding="utf-8")
    (tmp_path / "outside").write_text("leak", encoding="utf-8")
    config = catalogue.LiveConfig(secrets={"api": "tok"}, secrets_dir=folder)
    assert resolve_secret("env:api", config) == "tok"
    assert resolve_secret("file:dept_db", config) == "pa55word"
    assert resolve_secret("", config) is None
    for ref, code in (
        ("env:missing", "catalogue_live_secret_missing"),
        ("file:../outside", "catalogue_live_secret_missing"),
        ("vault:kv/dept", "catalogue_live_secret_unsupported"),
    ):
        with pytest.raises(catalogue.LiveSourceRefused) as refused:
            resolve_secret(ref, config)
        assert _code(refused) == code
    assert "tok" not in repr(config)


def test_personal_values_are_masked_by_their_look() -> None:
    assert catalogue.mask_text(ID_NUMBER) == "340102********1234"
    assert catalogue.mask_text("13912345678") == "139****5678"
    assert catalogue.mask_text("张三") == "张*"
    assert catalogue.mask_text("安徽省合肥市瑶海区长江东路") == "安徽省*******江东路"


# --- a SQLite file as a department database ---------------------------------------------------------------
def test_a_sqlite_source_is_read_shaped_and_masked(platform: Platform, world: World) -> None:
    url = _sqlite_source(platform, rows=30)
    _mount(platform, world, "database", url=url, query='SELECT uscc, "企业名称", legal_id, phone FROM entity')
    answer = _rows(platform, world, limit=5)
    assert answer.kind is catalogue.MountKind.DATABASE
    assert len(answer.rows) == 5
    first = answer.rows[0]
    assert list(first) == ["uscc", "name", "legal_id", "phone", "founded_on"]
    # The name column is headed with the item's Chinese label; founded_on is not in the query.
    assert first["name"] == "企业0"
    assert first["founded_on"] is None
    assert first["legal_id"] == "340102********1234"
    assert first["phone"] == "139****5678"
    # A reader asking for more than the configured most gets the most.
    assert len(_rows(platform, world, limit=100_000).rows) == 30


def test_sqlite_sources_are_read_only_time_limited_and_kept_to_their_folder(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    url = _sqlite_source(platform)
    forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c"
    r = _mount(platform, world, "database", url=url, query=forever)
    started = time.monotonic()
    with pytest.raises(catalogue.LiveSourceFailed) as failed:
        _rows(platform, world)
    assert _code(failed) == "catalogue_live_timeout"
    assert time.monotonic() - started < 10

    def remount(url: str, query: str = "SELECT * FROM entity") -> None:
        with platform.uow() as uow:
            catalogue.mount_resource(
                uow,
                catalogue.MountResource(resource_id=r.id, kind="database", url=url, query=query),
                world["yh_clerk"],
            )

    elsewhere = tmp_path / "elsewhere.db"
    create_engine(f"sqlite:///{elsewhere}").dispose()
    remount(f"sqlite:///{elsewhere}")
    with pytest.raises(catalogue.LiveSourceRefused) as refused:
        _rows(platform, world)
    assert _code(refused) == "catalogue_live_sqlite_outside"

    remount(platform.settings.resolved_database_url, "SELECT * FROM identity_user")
    with pytest.raises(catalogue.LiveSourceRefused) as refused:
        _rows(platform, world)
    assert _code(refused) == "catalogue_live_own_database"

    remount(url, "DELETE FROM entity")
    with pytest.raises(catalogue.LiveSourceRefused) as refused:
        _rows(platform, world)
    assert _code(refused) == "catalogue_live_query_not_select"

    remount("mysql+pymysql://reader@10.8.0.5/market", "SELECT * FROM entity")
    with pytest.raises(catalogue.LiveSourceRefused) as refused:
        _rows(platform, world)
    assert _code(refused) == "catalogue_live_dialect_unsupported"


def test_rows_are_the_providers_business(platform: Platform, world: World) -> None:
    r = _mount(platform, world, "database", url=_sqlite_source(platform), query="SELECT * FROM entity")
    # A draft of another department is not even disclosed.
    with pytest.raises(NotFound):
        _rows(platform, world, "ly_clerk")
    _publish(platform, world, r.id)
    with pytest.raises(PermissionDenied):
        _rows(platform, world, "ly_clerk")
    assert len(_rows(platform, world, "city_admin").rows) == 3  # the city's data bureau reviews it


def test_an_unmounted_resource_has_no_rows(platform: Platform, world: World) -> None:
    register(platform, world, "yh_clerk", "yaohai", CODE, items=ITEMS)
    with pytest.raises(Conflict) as refused:
        _rows(platform, world)
    assert refused.value.error_code == "catalogue_not_mounted"


# --- PostgreSQL as a department database ------------------------------------------------------------------
def _pg_server() -> str:
    configured = os.environ.get("WANSHI_TEST_DB", "sqlite")
    url = (
        configured
        if configured.startswith("postgresql")
        else "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
    except Exception:
        pytest.skip(f"PostgreSQL not reachable at {url}")
    return url


@pytest.fixture
def pg_source() -> Iterator[str]:
    server = _pg_server()
    name = f"wanshi_src_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name)
    source = create_engine(url)
    with source.begin() as conn:
        conn.execute(text("CREATE TABLE entity (uscc TEXT, name TEXT, legal_id TEXT, founded_on DATE)"))
        conn.execute(text("CREATE SEQUENCE ticket"))
        conn.execute(
            text("INSERT INTO entity VALUES (:u, :n, :i, '2021-03-04')"),
            [{"u": f"91340100{i:010d}", "n": f"企业{i}", "i": ID_NUMBER} for i in range(4)],
        )
    source.dispose()
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_postgresql_source_is_read_in_a_read_only_transaction_with_a_timeout(
    platform: Platform, world: World, pg_source: str
) -> None:
    r = _mount(platform, world, "database", url=pg_source, query="SELECT * FROM entity ORDER BY uscc")
    answer = _rows(platform, world)
    assert [row["name"] for row in answer.rows] == ["企业0", "企业1", "企业2", "企业3"]
    assert answer.rows[0]["founded_on"] == "2021-03-04"
    assert answer.rows[0]["legal_id"] == "340102********1234"

    def remount(query: str) -> None:
        with platform.uow() as uow:
            catalogue.mount_resource(
                uow,
                catalogue.MountResource(resource_id=r.id, kind="database", url=pg_source, query=query),
                world["yh_clerk"],
            )

    # nextval() writes: the transaction is read-only, so the database refuses it.
    remount("SELECT nextval('ticket') AS n")
    with pytest.raises(catalogue.LiveSourceFailed) as failed:
        _rows(platform, world)
    assert _code(failed) == "catalogue_live_source_error"
    assert "read-only" in failed.value.message

    remount("SELECT pg_sleep(30) AS slept")
    started = time.monotonic()
    with pytest.raises(catalogue.LiveSourceFailed) as failed:
        _rows(platform, world)
    assert _code(failed) == "catalogue_live_timeout"
    assert time.monotonic() - started < 10


def test_a_postgresql_host_off_the_allow_list_is_refused(
    platform: Platform, world: World, pg_source: str
) -> None:
    elsewhere = make_url(pg_source).set(host="192.0.2.10").render_as_string(hide_password=False)
    _mount(platform, world, "database", url=elsewhere, query="SELECT * FROM entity")
    with pytest.raises(catalogue.LiveSourceRefused) as refused:
        _rows(platform, world)
    assert _code(refused) == "catalogue_live_host_not_allowed"


# --- an HTTP API ------------------------------------------------------------------------------------------
PEOPLE = [
    {"uscc": "913401000000000001", "企业名称": "甲公司", "legal_id": ID_NUMBER, "phone": "13800001111"},
    {"uscc": "913401000000000002", "企业名称": "乙公司", "legal_id": None, "phone": None, "extra": 1},
]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *_args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {"content-type": "application/json"}).items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/people":
            self._send(200, json.dumps(PEOPLE, ensure_ascii=False).encode())
        elif path == "/wrapped":
            self._send(200, json.dumps({"items": PEOPLE, "total": 2}).encode())
        elif path == "/token":
            if self.headers.get("authorization") == "Bearer s3cret-token":
                self._send(200, json.dumps(PEOPLE[:1]).encode())
            else:
                self._send(401, b"{}")
        elif path == "/big":
            self._send(200, b"[" + b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}]')
        elif path == "/slow":
            time.sleep(4)
            self._send(200, b"[]")
        elif path == "/redirect":
            self._send(302, b"", {"location": "http://169.254.169.254/latest/meta-data"})
        elif path == "/html":
            self._send(200, b"<html></html>", {"content-type": "text/html"})
        else:
            self._send(404, b"{}")


@pytest.fixture
def api_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_an_http_source_answers_an_array_or_items(platform: Platform, world: World, api_server: str) -> None:
    r = _mount(platform, world, "http", url=f"{api_server}/people")
    answer = _rows(platform, world)
    assert answer.kind is catalogue.MountKind.HTTP
    assert [row["name"] for row in answer.rows] == ["甲公司", "乙公司"]
    assert answer.rows[0]["legal_id"] == "340102********1234"
    assert answer.rows[1]["legal_id"] is None
    assert "extra" not in answer.rows[1]
    assert len(_rows(platform, world, limit=1).rows) == 1

    with platform.uow() as uow:
        catalogue.mount_resource(
            uow,
            catalogue.MountResource(
                resource_id=r.id, kind="http", url=f"{api_server}/token", secret_ref="env:api_token"
            ),
            world["yh_clerk"],
        )
    assert [row["name"] for row in _rows(platform, world).rows] == ["甲公司"]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/big", "catalogue_live_too_large"),
        ("/slow", "catalogue_live_timeout"),
        ("/redirect", "catalogue_live_http_status"),
        ("/html", "catalogue_live_bad_json"),
        ("/token", "catalogue_live_http_status"),
        ("/missing", "catalogue_live_http_status"),
    ],
)
def test_an_http_source_that_misbehaves_is_cut_off(
    platform: Platform, world: World, api_server: str, path: str, code: str
) -> None:
    _mount(platform, world, "http", url=f"{api_server}{path}")
    settings = platform.settings.model_copy(update={"live_max_bytes": 1024 * 1024})
    config = catalogue.LiveConfig.from_settings(settings)
    started = time.monotonic()
    with platform.uow() as uow, pytest.raises(catalogue.LiveSourceFailed) as failed:
        catalogue.read_rows(uow, platform.datastore, config, CODE, 10, world["yh_clerk"])
    assert _code(failed) == code
    assert time.monotonic() - started < 4


def test_an_http_host_must_be_allowed(platform: Platform, world: World, api_server: str) -> None:
    port = api_server.rsplit(":", 1)[1]
    # "localhost" is not on the list; a listed name resolving to an internal address outside the listed
    # networks is refused.
    _mount(platform, world, "http", url=f"http://localhost:{port}/people")
    with pytest.raises(catalogue.LiveSourceRefused) as refused:
        _rows(platform, world)
    assert _code(refused) == "catalogue_live_host_not_allowed"
    config = catalogue.LiveConfig.from_settings(platform.settings, resolve=lambda _h: ["192.168.5.5"])
    from wanshi.datahub.catalogue.live import guard_host

    with pytest.raises(catalogue.LiveSourceRefused) as refused:
        guard_host("intranet.test", config)
    assert _code(refused) == "catalogue_live_address_private"


# --- through the app: the rows API and the preview page ---------------------------------------------------
class _Session:
    def __init__(self, client: TestClient, username: str) -> None:
        self.client = client
        signed_in(client, username, PASSWORD)


@pytest.fixture
def open_session(platform: Platform, world: World) -> Iterator[Callable[[str], TestClient]]:
    app = create_app(platform)
    clients: list[TestClient] = []

    def open_as(username: str) -> TestClient:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        _Session(client, username)
        return client

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def test_the_rows_api_answers_for_all_three_mount_kinds(
    platform: Platform, world: World, api_server: str, open_session: Callable[[str], TestClient]
) -> None:
    import pyarrow as pa

    platform.datastore.write_batch(
        "market_entity",
        "b-000001",
        pa.table({"uscc": ["913401000000000009"], "name": ["丙公司"], "legal_id": [ID_NUMBER], "_row": [1]}),
    )
    dataset = _mount(platform, world, "dataset", dataset="market_entity")
    _mount(
        platform,
        world,
        "database",
        url=_sqlite_source(platform),
        query="SELECT * FROM entity",
        code="331007001/000002",
    )
    _mount(platform, world, "http", url=f"{api_server}/wrapped", code="331007001/000003")
    clerk = open_session("yh_clerk")
    names = {}
    for code in (CODE, "331007001/000002", "331007001/000003"):
        reply = clerk.get(f"/api/v1/catalogue/resources/{code}/rows", params={"limit": 2})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert [f["name"] for f in body["fields"]] == [i.name for i in ITEMS]
        names[body["kind"]] = [row["name"] for row in body["rows"]]
        assert all(row["legal_id"] in (None, "340102********1234") for row in body["rows"])
    assert names == {"dataset": ["丙公司"], "database": ["企业0", "企业1"], "http": ["甲公司", "乙公司"]}

    other = open_session("ly_clerk")
    assert (
        other.get(f"/api/v1/catalogue/resources/{CODE}/rows").json()["error"]["code"]
        == "catalogue_resource_not_found"
    )
    assert clerk.get("/api/v1/catalogue/resources/101001001/999999/rows").status_code == 404

    page = clerk.get(f"/admin/catalogue/{dataset.id}/preview")
    assert page.status_code == 200
    assert "丙公司" in page.text
    assert "340102********1234" in page.text
    assert ID_NUMBER not in page.text
    assert f'href="/admin/catalogue/{dataset.id}/preview"' in clerk.get(f"/admin/catalogue/{dataset.id}").text


def test_the_preview_page_shows_a_refused_source_with_its_code(
    platform: Platform, world: World, open_session: Callable[[str], TestClient]
) -> None:
    r = _mount(platform, world, "http", url="http://198.51.100.20/people")
    page = open_session("yh_clerk").get(f"/admin/catalogue/{r.id}/preview")
    assert page.status_code == 422
    assert "catalogue_live_host_not_allowed" in page.text
    assert "不在允许访问的数据源主机清单中" in page.text
