"""Live sources: reading a resource mounted on a department database or an HTTP API, safely.

A live read is made on behalf of a person browsing the catalogue, with a URL and a query a department
typed in, so every read is fenced:

- Secrets: a mount names its credential (``env:NAME`` from ``WANSHI_SECRETS``, ``file:NAME`` from the
  secrets folder); it is resolved here at the moment of use and never stored, echoed or logged.
- Reach: every host must be on ``WANSHI_LIVE_ALLOWED_HOSTS``; a name that resolves to a private,
  loopback or link-local address is refused unless a network entry covers that address, so an
  allow-listed name cannot be pointed at the platform's own network. The platform's own database is
  refused outright, and SQLite files are read only from one folder.
- Databases: one SELECT (or WITH ... SELECT) statement, run inside a read-only transaction with a
  statement timeout and a row limit applied by the database itself.
- HTTP: GET only, no redirects, no proxies from the environment, a timeout over the whole answer and a
  size limit; the answer must be a JSON array of objects or ``{"items": [...]}``.

Rows are shaped to the resource's 信息项 (by field name, else by its Chinese label) and values of
sensitive and core items are masked before they leave this module.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as day_time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from wanshi.config import Settings
from wanshi.datahub.catalogue.domain import Grade, InformationItem, Mount, MountKind
from wanshi.infra.logging import mask_personal_data
from wanshi.kernel.errors import ValidationFailed, WanshiError

Resolver = Callable[[str], list[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Words that make a statement more than a read. Matched as whole words outside quotes and comments; the
# read-only transaction is the real guard, this gives the department a clear answer before connecting.
_WRITING = frozenset(
    {
        "insert", "update", "delete", "merge", "upsert", "create", "alter", "drop", "truncate", "grant",
        "revoke", "copy", "attach", "detach", "pragma", "vacuum", "call", "execute", "exec", "into",
        "listen", "notify", "reindex", "savepoint", "commit", "rollback", "begin", "set", "reset",
    }
)  # fmt: skip
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_RESIDENT_ID = re.compile(r"^\d{17}[0-9Xx]$|^\d{15}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
MASKED_GRADES = frozenset({Grade.SENSITIVE, Grade.CORE})
READ_BLOCK = 64 * 1024
SQLITE_CHECK_EVERY = 10_000  # SQLite virtual-machine steps between two looks at the clock


class LiveSourceRefused(ValidationFailed):
    """The mount asks for something a live read may not do; nothing was contacted."""

    code = "catalogue_live_refused"


class LiveSourceFailed(WanshiError):
    """The source was contacted and did not answer as it should."""

    code = "catalogue_live_failed"
    http_status = 502
    default_message = "数据源暂时无法读取，请稍后再试"


def _system_resolve(host: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


@dataclass(frozen=True)
class LiveConfig:
    allowed_hosts: tuple[str, ...] = ()
    timeout_seconds: float = 10.0
    max_rows: int = 1000
    max_bytes: int = 10 * 1024 * 1024
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    secrets_dir: Path = Path("var/secrets")
    sqlite_dir: Path = Path("var/live")
    own_database_url: str = ""
    resolve: Resolver = _system_resolve

    @classmethod
    def from_settings(cls, settings: Settings, *, resolve: Resolver = _system_resolve) -> LiveConfig:
        return cls(
            allowed_hosts=tuple(settings.live_allowed_hosts),
            timeout_seconds=settings.live_timeout_seconds,
            max_rows=settings.live_max_rows,
            max_bytes=settings.live_max_bytes,
            secrets={name: value.get_secret_value() for name, value in settings.secrets.items()},
            secrets_dir=settings.resolved_secrets_dir,
            sqlite_dir=settings.resolved_live_sqlite_dir,
            own_database_url=settings.resolved_database_url,
            resolve=resolve,
        )


# --- secrets ----------------------------------------------------------------------------------------------
def resolve_secret(ref: str, config: LiveConfig) -> str | None:
    """The secret a mount names, or None when it names none."""
    if not ref:
        return None
    scheme, _sep, name = ref.partition(":")
    if scheme == "env":
        value = config.secrets.get(name)
    elif scheme == "file":
        value = _secret_file(name, config.secrets_dir)
    else:
        raise LiveSourceRefused(
            f"本平台未配置密钥库，不能使用“{scheme}:”形式的密钥引用，请改用 env: 或 file:",
            code="catalogue_live_secret_unsupported",
            field="secret_ref",
        )
    if not value:
        raise LiveSourceRefused(
            f"找不到密钥引用“{ref}”对应的密钥，请联系系统管理员配置",
            code="catalogue_live_secret_missing",
            field="secret_ref",
        )
    return value


def _secret_file(name: str, folder: Path) -> str | None:
    root = folder.resolve()
    path = (root / name).resolve()
    # A reference such as file:../../etc/passwd must not read outside the secrets folder.
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path.read_text(encoding="utf-8").strip()


# --- reach ------------------------------------------------------------------------------------------------
def _allow_list(entries: Iterable[str]) -> tuple[list[Network], list[str]]:
    networks: list[Network] = []
    names: list[str] = []
    for raw in entries:
        entry = raw.strip().lower().rstrip(".")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.append(entry)
    return networks, names


def _name_allowed(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    return host == pattern


def _internal(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def guard_host(host: str, config: LiveConfig) -> None:
    """Refuse a host that is not allow-listed, or whose addresses lie inside a network not listed."""
    host = host.strip("[]").lower().rstrip(".")
    networks, names = _allow_list(config.allowed_hosts)
    refused = LiveSourceRefused(
        f"主机“{host or '（空）'}”不在允许访问的数据源主机清单中，请联系系统管理员",
        code="catalogue_live_host_not_allowed",
        field="url",
    )
    if not host:
        raise refused
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not any(literal in n for n in networks):
            raise refused
        return
    if not any(_name_allowed(host, pattern) for pattern in names):
        raise refused
    try:
        addresses = config.resolve(host)
    except OSError:
        raise LiveSourceFailed(f"无法解析主机“{host}”", code="catalogue_live_dns_failed") from None
    for text_address in addresses:
        address = ipaddress.ip_address(text_address.split("%")[0])
        if _internal(address) and not any(address in n for n in networks):
            raise LiveSourceRefused(
                f"主机“{host}”解析到内部地址 {address}，该网段未被允许访问",
                code="catalogue_live_address_private",
                field="url",
            )


# --- SQL --------------------------------------------------------------------------------------------------
def _strip(query: str) -> str:
    """The query with comments removed and every quoted text or identifier replaced by a blank token."""
    out: list[str] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if query.startswith("--", i):
            end = query.find("\n", i)
            i = n if end < 0 else end
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            if end < 0:
                raise _not_select("注释未闭合")
            i = end + 2
            out.append(" ")
        elif c in "'\"`[":
            close = "]" if c == "[" else c
            j = i + 1
            while True:
                j = query.find(close, j)
                if j < 0:
                    raise _not_select("引号未闭合")
                if close != "]" and query.startswith(close * 2, j):
                    j += 2
                    continue
                break
            out.append(" q ")
            i = j + 1
        elif c == "$":
            # PostgreSQL dollar quoting can hide a second statement from a simple reader: not accepted.
            raise _not_select("不支持 $ 引用")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _not_select(why: str) -> LiveSourceRefused:
    return LiveSourceRefused(
        f"取数语句须为单条只读查询（SELECT 或 WITH … SELECT）：{why}",
        code="catalogue_live_query_not_select",
        field="query",
    )


def check_select(query: str) -> str:
    """The query, trailing semicolons dropped, if it is one read-only SELECT; refused otherwise."""
    bare = _strip(query).strip().rstrip(";").strip()
    if not bare:
        raise _not_select("语句为空")
    if ";" in bare:
        raise _not_select("只能包含一条语句")
    words = [w.lower() for w in _WORD.findall(bare)]
    if not words or words[0] not in ("select", "with"):
        raise _not_select("须以 SELECT 或 WITH 开头")
    writing = sorted(set(words) & _WRITING)
    if writing:
        raise _not_select(f"不能包含 {writing[0].upper()}")
    return query.strip().rstrip(";").strip()


def _database_url(mount: Mount, config: LiveConfig) -> URL:
    try:
        url = make_url(mount.url)
    except ArgumentError:
        raise LiveSourceRefused(
            "数据库连接地址无法识别", code="catalogue_live_url_invalid", field="url"
        ) from None
    secret = resolve_secret(mount.secret_ref, config)
    return url.set(password=secret) if secret is not None else url


def _same_database(url: URL, own: str) -> bool:
    if not own:
        return False
    mine = make_url(own)
    if url.get_backend_name() != mine.get_backend_name():
        return False
    if url.get_backend_name() == "sqlite":
        return (
            bool(url.database and mine.database)
            and Path(url.database or "").resolve() == Path(mine.database or "").resolve()
        )
    return (url.host or "", url.port or 5432, url.database) == (
        mine.host or "",
        mine.port or 5432,
        mine.database,
    )


def _refuse_own(url: URL, config: LiveConfig) -> None:
    if _same_database(url, config.own_database_url):
        raise LiveSourceRefused(
            "不能把平台自身的数据库挂接为数据源", code="catalogue_live_own_database", field="url"
        )


def _sqlite_engine(url: URL, config: LiveConfig, timeout: float | None) -> Engine:
    root = config.sqlite_dir.resolve()
    path = Path(url.database or "").resolve()
    if not url.database or not path.is_relative_to(root):
        raise LiveSourceRefused(
            f"SQLite 数据源文件须放在 {root} 下", code="catalogue_live_sqlite_outside", field="url"
        )
    if not path.is_file():
        raise LiveSourceFailed("SQLite 数据源文件不存在", code="catalogue_live_source_error")

    def connect() -> sqlite3.Connection:
        # mode=ro: the file is opened read-only by SQLite itself, whatever the statement says.
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
        if timeout is not None:
            deadline = time.monotonic() + timeout
            conn.set_progress_handler(lambda: int(time.monotonic() > deadline), SQLITE_CHECK_EVERY)
        return conn

    return create_engine("sqlite://", creator=connect, poolclass=NullPool)


def open_engine(mount: Mount, config: LiveConfig, *, statement_timeout: float | None) -> Engine:
    """An engine on the mounted database that can only read: every connection it opens is read-only
    (and, with ``statement_timeout``, cancels statements that run longer)."""
    if mount.kind is not MountKind.DATABASE:
        raise LiveSourceRefused("该资源未挂接部门数据库", code="catalogue_live_not_database", field="kind")
    url = _database_url(mount, config)
    _refuse_own(url, config)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, config, statement_timeout)
    if backend != "postgresql":
        raise LiveSourceRefused(
            f"暂不支持读取 {backend} 数据库，可用 PostgreSQL 或 SQLite，或改用接口服务挂接",
            code="catalogue_live_dialect_unsupported",
            field="url",
        )
    guard_host(url.host or "", config)
    options = "-c default_transaction_read_only=on"
    if statement_timeout is not None:
        options += f" -c statement_timeout={int(statement_timeout * 1000)}"
    return create_engine(
        url,
        poolclass=NullPool,
        connect_args={"connect_timeout": max(1, round(config.timeout_seconds)), "options": options},
    )


def _clean_error(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return mask_personal_data(
        str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    )[:300]


def _timed_out(exc: BaseException) -> bool:
    message = str(getattr(exc, "orig", exc)).lower()
    return "statement timeout" in message or "canceling statement" in message or "interrupted" in message


def read_database(mount: Mount, config: LiveConfig, limit: int) -> list[dict[str, Any]]:
    query = check_select(mount.query)
    engine = open_engine(mount, config, statement_timeout=config.timeout_seconds)
    # The database applies the limit; the query is the department's own, checked above, run read-only.
    sql = text(f"SELECT * FROM ({query}) AS live_source LIMIT :limit")  # noqa: S608
    try:
        with engine.connect() as conn:
            result = conn.execute(sql, {"limit": limit})
            names = list(result.keys())
            return [dict(zip(names, row, strict=True)) for row in result.fetchmany(limit)]
    except DBAPIError as exc:
        if _timed_out(exc):
            raise LiveSourceFailed(
                f"数据源查询超过 {config.timeout_seconds:g} 秒未完成", code="catalogue_live_timeout"
            ) from None
        raise LiveSourceFailed(
            f"数据源查询失败：{_clean_error(exc)}", code="catalogue_live_source_error"
        ) from None
    except SQLAlchemyError as exc:
        raise LiveSourceFailed(
            f"数据源查询失败：{_clean_error(exc)}", code="catalogue_live_source_error"
        ) from None
    finally:
        engine.dispose()


# --- HTTP -------------------------------------------------------------------------------------------------
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could lead past the allow-list: a 3xx is reported, never followed.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _records(body: bytes) -> list[dict[str, Any]]:
    bad = LiveSourceFailed(
        "接口返回的不是 JSON 对象数组（或含 items 数组的对象）", code="catalogue_live_bad_json"
    )
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad from None
    if isinstance(data, dict):
        data = data.get("items")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise bad
    return data


def read_http(mount: Mount, config: LiveConfig, limit: int) -> list[dict[str, Any]]:
    parts = urlsplit(mount.url)
    if mount.kind is not MountKind.HTTP or parts.scheme not in ("http", "https"):
        raise LiveSourceRefused("该资源未挂接接口服务", code="catalogue_live_not_http", field="kind")
    guard_host(parts.hostname or "", config)
    headers = {"Accept": "application/json", "User-Agent": "wanshi-live-source"}
    secret = resolve_secret(mount.secret_ref, config)
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    request = urllib.request.Request(mount.url, headers=headers, method="GET")  # noqa: S310 - scheme checked
    deadline = time.monotonic() + config.timeout_seconds
    try:
        with _opener().open(request, timeout=config.timeout_seconds) as answer:
            body = bytearray()
            while block := answer.read(READ_BLOCK):
                body += block
                if len(body) > config.max_bytes:
                    raise LiveSourceFailed(
                        f"接口返回超过 {config.max_bytes // 1024} KiB 的上限", code="catalogue_live_too_large"
                    )
                if time.monotonic() > deadline:
                    raise TimeoutError
    except urllib.error.HTTPError as exc:
        raise LiveSourceFailed(
            f"接口返回 HTTP {exc.code}", code="catalogue_live_http_status", status=exc.code
        ) from None
    except TimeoutError:
        raise LiveSourceFailed(
            f"接口超过 {config.timeout_seconds:g} 秒未完成应答", code="catalogue_live_timeout"
        ) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise LiveSourceFailed(
                f"接口超过 {config.timeout_seconds:g} 秒未完成应答", code="catalogue_live_timeout"
            ) from None
        raise LiveSourceFailed(
            f"无法连接接口：{_clean_error(exc)}", code="catalogue_live_source_error"
        ) from None
    except OSError as exc:
        raise LiveSourceFailed(
            f"无法连接接口：{_clean_error(exc)}", code="catalogue_live_source_error"
        ) from None
    return _records(bytes(body))[:limit]


# --- rows -------------------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A JSON-ready value: dates as ISO text, decimals as text (no float rounding), bytes refused."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | day_time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} 字节二进制>"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def mask_text(value: str) -> str:
    """Mask one personal value: ID numbers keep region and check digits, phones their ends, other text
    (names, addresses) its first character and, when long, its last."""
    if _RESIDENT_ID.match(value):
        return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"
    if _MOBILE.match(value):
        return f"{value[:3]}****{value[-4:]}"
    if len(value) <= 1:
        return "*"
    if len(value) <= 3:
        return value[0] + "*" * (len(value) - 1)
    keep = max(1, len(value) // 4)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


def mask_value(item: InformationItem, value: Any) -> Any:
    if value is None or value == "":
        return value
    if item.grade in MASKED_GRADES:
        return mask_text(str(value))
    if isinstance(value, str) and item.grade is not Grade.PUBLIC:
        # An unmarked column can still hold an ID or mobile number typed into free text.
        return mask_personal_data(value)
    return value


def shape(records: Sequence[Mapping[str, Any]], items: Sequence[InformationItem]) -> list[dict[str, Any]]:
    """Rows with exactly the resource's fields, in its order; a field is read from the column of its name
    or, failing that, of its Chinese label (exports are headed 身份证号, not id_number)."""
    if not records:
        return []
    present = {str(k) for r in records[:50] for k in r}
    lowered = {k.lower(): k for k in present}
    columns: dict[str, str | None] = {}
    for item in items:
        columns[item.name] = (
            item.name
            if item.name in present
            else lowered.get(item.name) or (item.label if item.label in present else None)
        )
    return [
        {
            item.name: mask_value(item, _plain(r.get(column))) if (column := columns[item.name]) else None
            for item in items
        }
        for r in records
    ]
