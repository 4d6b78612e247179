"""The authorisation matrix (issue #4 item 5): through the real app, pages and JSON API alike, a citizen
cannot reach another's data, a county's staff cannot act in a sibling county, and a department cannot
see another department's unshared data.

Each row is one (persona, target, channel): the persona's request must be refused with the status the
platform answers (404 where existence must not be disclosed), and the same request by the owner must
succeed, so that a route refusing everyone fails the row. A listing row has no refusal status: the
owner's item must be in the owner's answer and absent from the persona's. Everyone signs in through the
real login form (staff with TOTP); the world is built once per module, and the rows change nothing that
a later row depends on (comments and pushes are repeatable).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from dbtools import empty_all_tables  # type: ignore[import-not-found]
from matrix_world import (
    CITIZEN_A,
    CLIENT_NAME,
    DRAFT_CODE,
    DRAFT_DATASET,
    DRAFT_NAME,
    FAILING_RULE,
    PASSWORD,
    PREFILL_PURPOSE,
    PUBLISHED_CODE,
    PUBLISHED_DATASET,
    World,
    build_world,
    entity,
)
from signin import signed_in
from wanshi.bootstrap import Platform, build_platform
from wanshi.config import Settings
from wanshi.identity.tables import login_session
from wanshi.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PURPOSE = "户籍业务办理预填"
# A persona's places in the world, by name, for the rows' paths and bodies.
Places = dict[str, Any]


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # formatted with the world's places
    body: Callable[[Places], Any] | None = None
    # "json", "form", "upload" (a form with files: body gives (fields, files)) or "push" (a JSON batch
    # with an idempotency key)
    kind: str = "json"


@dataclass(frozen=True)
class Row:
    name: str
    persona: str
    call: Call
    refused: int  # the persona's status
    owner: str  # who may do the same
    allowed: int = 200
    marker: str = ""  # formatted with the places: absent from the persona's answer, present in the owner's


@dataclass(frozen=True)
class Session:
    client: TestClient
    csrf: str

    def send(self, call: Call, places: Places) -> httpx.Response:
        path = call.path.format(**places)
        body = call.body(places) if call.body is not None else None
        reply: httpx.Response
        if call.method == "GET":
            reply = self.client.get(path, follow_redirects=False)
        elif call.kind == "form":
            data = {"csrf_token": self.csrf, **(body or {})}
            reply = self.client.post(path, data=data, follow_redirects=False)
        elif call.kind == "upload":
            assert body is not None
            fields, files = body
            data = {"csrf_token": self.csrf, **fields}
            reply = self.client.post(path, data=data, files=files, follow_redirects=False)
        else:
            headers = {"x-csrf-token": self.csrf}
            if call.kind == "push":
                headers["Idempotency-Key"] = f"matrix-{places['persona']}-{places['n']}"
            reply = self.client.request(call.method, path, json=body, headers=headers, follow_redirects=False)
        return reply


# --- the rows ---------------------------------------------------------------------------------------------
def _prefill(p: Places) -> dict[str, Any]:
    return {"id_number": p["a_id_number"], "fields": ["name", "sex"], "purpose": PURPOSE}


def _note(p: Places) -> dict[str, str]:
    return {"note": f"{p['persona']} 的备注 {p['n']}"}


def _new_staff(p: Places) -> dict[str, Any]:
    return {
        "username": f"made_by_{p['persona']}_{p['n']}",
        "display_name": "新同事",
        "organisation_id": p["yh_market"],
        "password": PASSWORD,
        "roles": ["clerk"],
    }


def _new_staff_form(p: Places) -> dict[str, Any]:
    return {**_new_staff(p), "organisation_id": str(p["yh_market"])}


def _role(p: Places) -> dict[str, str]:
    return {"role": "clerk"}


def _password(p: Places) -> dict[str, str]:
    return {"new_password": f"Anhui#2026reset{p['n']}"}


def _ticket(p: Places) -> dict[str, Any]:
    return {"organisation_id": p["yh_market"], "title": f"{p['persona']} 开给瑶海市场监管的工单 {p['n']}"}


def _resource(p: Places) -> dict[str, Any]:
    return {
        "code": f"331007001/{100000 + p['n']}",
        "provider_organisation_id": p["yh_market"],
        "name": f"{p['persona']} 登记的资源 {p['n']}",
        "summary": "辖区内市场主体的登记信息。",
        "format": "数据库",
        "items": [{"name": "uscc", "label": "统一社会信用代码", "length": 18, "required": True}],
        "share_type": "conditional",
        "share_conditions": "仅向承担市场监管职责的部门共享",
        "share_method": "接口调用",
        "open_type": "none",
        "update_cycle": "daily",
    }


def _mount(p: Places) -> dict[str, str]:
    return {"kind": "dataset", "dataset": DRAFT_DATASET}


def _upload(p: Places) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    csv = f"uscc,name,founded_on\n{entity()['uscc']},{p['persona']} 上传的企业 {p['n']},2020-01-01\n"
    return {"resource": PUBLISHED_CODE}, {"file": ("market.csv", csv.encode(), "text/csv")}


def _batch(p: Places) -> dict[str, Any]:
    return {"rows": [entity(name=f"{p['persona']} 推送的企业 {p['n']}")]}


GET = "GET"
POST = "POST"
PUT = "PUT"
# Staff pages and APIs a citizen must not reach, each with the staff member who reaches it. A page sends a
# signed-in citizen to the (staff) login; the API answers 401.
STAFF_ONLY = [
    ("/admin", "yh_clerk"),
    ("/admin/users", "yh_admin"),
    ("/api/v1/users", "yh_admin"),
    ("/tickets", "yh_clerk"),
    ("/tickets/{ticket}", "yh_clerk"),
    ("/api/v1/tickets", "yh_clerk"),
    ("/api/v1/tickets/{ticket}", "yh_clerk"),
    ("/admin/catalogue", "yh_clerk"),
    ("/admin/catalogue/{published}", "yh_clerk"),
    ("/api/v1/catalogue/{published}", "yh_clerk"),
    ("/admin/loads", "yh_clerk"),
    ("/api/v1/ingest/loads", "yh_clerk"),
    ("/admin/quality", "yh_clerk"),
    ("/api/v1/quality/runs/{run}", "yh_clerk"),
]

ROWS = [
    # --- a citizen and another citizen's data --------------------------------------------------------------
    Row(
        "citizen B sees only their own account over the API",
        "B",
        Call(GET, "/api/v1/account"),
        200,
        "A",
        marker="{a_masked_id}",
    ),
    Row(
        "citizen B's account page does not show A's",
        "B",
        Call(GET, "/account"),
        200,
        "A",
        marker="{a_masked_id}",
    ),
    Row(
        "citizen B cannot prefill from A's registry record (only granted departments may)",
        "B",
        Call(POST, "/api/v1/registry/persons/prefill", _prefill),
        401,
        "yhps_clerk",
        marker="{a_name}",
    ),
    *(
        Row(name, "B", call, refused, "A", allowed, marker)
        for name, call, refused, allowed, marker in (
            (
                "citizen B's inbox does not list A's message (API)",
                Call(GET, "/api/v1/notifications/inbox"),
                200,
                200,
                "给A的通知",
            ),
            (
                "citizen B's inbox does not list A's message (page)",
                Call(GET, "/inbox"),
                200,
                200,
                "给A的通知",
            ),
            (
                "citizen B cannot mark A's inbox message read (API)",
                Call(POST, "/api/v1/notifications/inbox/{msg_a}/read"),
                403,
                200,
                "",
            ),
            (
                "citizen B cannot mark A's inbox message read (page)",
                Call(POST, "/inbox/{msg_a}/read", kind="form"),
                403,
                303,
                "",
            ),
        )
    ),
    *(
        Row(f"citizen B cannot reach the staff {path}", "B", Call(GET, path), 401 if api else 303, owner)
        for path, owner in STAFF_ONLY
        for api in [path.startswith("/api/")]
    ),
    # --- staff and another's inbox -------------------------------------------------------------------------
    Row(
        "庐阳 clerk cannot mark a 瑶海 clerk's message read over the API",
        "ly_clerk",
        Call(POST, "/api/v1/notifications/inbox/{msg_yh}/read"),
        403,
        "yh_clerk",
    ),
    Row(
        "庐阳 clerk cannot mark a 瑶海 clerk's message read on the page",
        "ly_clerk",
        Call(POST, "/inbox/{msg_yh}/read", kind="form"),
        403,
        "yh_clerk",
        allowed=303,
    ),
    Row(
        "庐阳 clerk's inbox does not list a 瑶海 clerk's message (API)",
        "ly_clerk",
        Call(GET, "/api/v1/notifications/inbox"),
        200,
        "yh_clerk",
        marker="给yh_clerk的通知",
    ),
    Row(
        "庐阳 clerk's inbox does not list a 瑶海 clerk's message (page)",
        "ly_clerk",
        Call(GET, "/inbox"),
        200,
        "yh_clerk",
        marker="给yh_clerk的通知",
    ),
    # --- a county and its sibling: tickets -----------------------------------------------------------------
    Row(
        "庐阳 clerk cannot open 瑶海's ticket (page)",
        "ly_clerk",
        Call(GET, "/tickets/{ticket}"),
        404,
        "yh_clerk",
    ),
    Row(
        "庐阳 clerk cannot read 瑶海's ticket (API)",
        "ly_clerk",
        Call(GET, "/api/v1/tickets/{ticket}"),
        404,
        "yh_clerk",
    ),
    Row(
        "庐阳 clerk's ticket list leaves out 瑶海's (page)",
        "ly_clerk",
        Call(GET, "/tickets"),
        200,
        "yh_clerk",
        marker="{ticket}",
    ),
    Row(
        "庐阳 clerk's ticket list leaves out 瑶海's (API)",
        "ly_clerk",
        Call(GET, "/api/v1/tickets"),
        200,
        "yh_clerk",
        marker="{ticket}",
    ),
    Row(
        "庐阳 clerk cannot act on 瑶海's ticket (page)",
        "ly_clerk",
        Call(POST, "/tickets/{ticket}/comment", _note, kind="form"),
        404,
        "yh_clerk",
        allowed=303,
    ),
    Row(
        "庐阳 clerk cannot act on 瑶海's ticket (API)",
        "ly_clerk",
        Call(POST, "/api/v1/tickets/{ticket}/comments", _note),
        404,
        "yh_clerk",
        allowed=201,
    ),
    Row(
        "庐阳 clerk cannot download 瑶海's ticket evidence (page)",
        "ly_clerk",
        Call(GET, "/tickets/{ticket}/files/{evidence}"),
        404,
        "yh_clerk",
    ),
    Row(
        "庐阳 clerk cannot download 瑶海's ticket evidence through a ticket of their own (page)",
        "ly_clerk",
        Call(GET, "/tickets/{own_ticket}/files/{evidence}"),
        404,
        "yh_clerk",
    ),
    Row(
        "庐阳 clerk cannot download 瑶海's ticket evidence (API)",
        "ly_clerk",
        Call(GET, "/api/v1/tickets/{ticket}/evidence/{evidence}"),
        404,
        "yh_clerk",
    ),
    Row(
        "庐阳 clerk cannot download 瑶海's ticket evidence through a ticket of their own (API)",
        "ly_clerk",
        Call(GET, "/api/v1/tickets/{own_ticket}/evidence/{evidence}"),
        404,
        "yh_clerk",
    ),
    Row(
        "庐阳 clerk cannot open a ticket for a 瑶海 department (API)",
        "ly_clerk",
        Call(POST, "/api/v1/tickets", _ticket),
        403,
        "yh_clerk",
        allowed=201,
    ),
    Row(
        "庐阳 clerk cannot open a ticket for a 瑶海 department (page)",
        "ly_clerk",
        Call(POST, "/tickets", _ticket, kind="form"),
        403,
        "yh_clerk",
        allowed=303,
    ),
    Row(
        "庐阳 clerk's ticket statistics leave out 瑶海's organisations (API)",
        "ly_clerk",
        Call(GET, "/api/v1/tickets/statistics"),
        200,
        "yh_clerk",
        marker="瑶海区市场监督管理局",
    ),
    # --- staff accounts ------------------------------------------------------------------------------------
    Row(
        "庐阳 org admin does not see 瑶海's staff (page)",
        "ly_admin",
        Call(GET, "/admin/users"),
        200,
        "yh_admin",
        marker="yh_clerk",
    ),
    Row(
        "庐阳 org admin does not see 瑶海's staff (API)",
        "ly_admin",
        Call(GET, "/api/v1/users"),
        200,
        "yh_admin",
        marker="yh_clerk",
    ),
    Row(
        "庐阳 org admin cannot create staff in 瑶海 (API)",
        "ly_admin",
        Call(POST, "/api/v1/users", _new_staff),
        403,
        "yh_admin",
        allowed=201,
    ),
    Row(
        "庐阳 org admin cannot create staff in 瑶海 (page)",
        "ly_admin",
        Call(POST, "/admin/users", _new_staff_form, kind="form"),
        403,
        "yh_admin",
        allowed=303,
    ),
    Row(
        "庐阳 org admin cannot grant a role to 瑶海's staff (API)",
        "ly_admin",
        Call(POST, "/api/v1/users/{yh_spare}/roles", _role),
        403,
        "yh_admin",
    ),
    Row(
        "庐阳 org admin cannot grant a role to 瑶海's staff (page)",
        "ly_admin",
        Call(POST, "/admin/users/{yh_spare}/roles", _role, kind="form"),
        403,
        "yh_admin",
        allowed=303,
    ),
    Row(
        "庐阳 org admin cannot reset the password of 瑶海's staff (API)",
        "ly_admin",
        Call(PUT, "/api/v1/users/{yh_spare}/password", _password),
        403,
        "yh_admin",
        allowed=204,
    ),
    Row(
        "庐阳 org admin cannot reset the password of 瑶海's staff (page)",
        "ly_admin",
        Call(POST, "/admin/users/{yh_spare}/password", _password, kind="form"),
        403,
        "yh_admin",
        allowed=303,
    ),
    # --- the registry call log ------------------------------------------------------------------------------
    *(
        row
        for persona in ("ly_admin", "yh_admin")
        for row in (
            Row(
                f"{persona}'s registry call log leaves out 瑶海 public security's calls (API)",
                persona,
                Call(GET, "/api/v1/registry/calls"),
                200,
                "yhps_admin",
                marker=PREFILL_PURPOSE,
            ),
            Row(
                f"{persona}'s registry call log leaves out 瑶海 public security's calls (page)",
                persona,
                Call(GET, "/admin/registry/calls"),
                200,
                "yhps_admin",
                marker=PREFILL_PURPOSE,
            ),
        )
    ),
    # --- the audit log and the security view ---------------------------------------------------------------
    *(
        Row(
            f"庐阳 auditor's {what} leaves out 瑶海's entries",
            "ly_auditor",
            Call(GET, path),
            200,
            "yh_auditor",
            marker=marker,
        )
        for what, path, marker in (
            ("audit log (API)", "/api/v1/audit", "yh_clerk"),
            ("audit log (page)", "/admin/audit", "yh_clerk"),
            ("security events (API)", "/api/v1/security/events", "yh_clerk"),
        )
    ),
    # --- systems registered for single sign-on ------------------------------------------------------------
    Row(
        "庐阳 org admin cannot open 瑶海's OIDC client (page)",
        "ly_admin",
        Call(GET, "/developer/clients/{client}"),
        403,
        "yh_admin",
        marker=CLIENT_NAME,
    ),
    Row(
        "庐阳 org admin cannot read 瑶海's OIDC client (API)",
        "ly_admin",
        Call(GET, "/api/v1/oidc-clients/{client}"),
        403,
        "yh_admin",
        marker=CLIENT_NAME,
    ),
    Row(
        "庐阳 org admin's developer area leaves out 瑶海's OIDC client (page)",
        "ly_admin",
        Call(GET, "/developer"),
        200,
        "yh_admin",
        marker=CLIENT_NAME,
    ),
    Row(
        "庐阳 org admin's client list leaves out 瑶海's OIDC client (API)",
        "ly_admin",
        Call(GET, "/api/v1/oidc-clients"),
        200,
        "yh_admin",
        marker=CLIENT_NAME,
    ),
    Row(
        "庐阳 org admin cannot take a new secret for 瑶海's OIDC client (API)",
        "ly_admin",
        Call(POST, "/api/v1/oidc-clients/{client}/secret"),
        403,
        "yh_admin",
    ),
    Row(
        "庐阳 org admin cannot take a new secret for 瑶海's OIDC client (page)",
        "ly_admin",
        Call(POST, "/developer/clients/{client}/secret", kind="form"),
        403,
        "yh_admin",
    ),
    # --- the catalogue -------------------------------------------------------------------------------------
    *(
        row
        for persona, who in (("ly_clerk", "庐阳 clerk"), ("yhps_clerk", "瑶海 public security"))
        for row in (
            Row(
                f"{who} cannot open 瑶海 market's unpublished resource (page)",
                persona,
                Call(GET, "/admin/catalogue/{draft}"),
                404,
                "yh_clerk",
                marker=DRAFT_NAME,
            ),
            Row(
                f"{who} cannot read 瑶海 market's unpublished resource (API)",
                persona,
                Call(GET, "/api/v1/catalogue/{draft}"),
                404,
                "yh_clerk",
                marker=DRAFT_NAME,
            ),
            Row(
                f"{who}'s catalogue leaves out 瑶海 market's unpublished resource (page)",
                persona,
                Call(GET, "/admin/catalogue"),
                200,
                "yh_clerk",
                marker=DRAFT_NAME,
            ),
            Row(
                f"{who}'s catalogue leaves out 瑶海 market's unpublished resource (API)",
                persona,
                Call(GET, "/api/v1/catalogue"),
                200,
                "yh_clerk",
                marker=DRAFT_NAME,
            ),
            Row(
                f"{who} cannot register a resource for 瑶海 market (API)",
                persona,
                Call(POST, "/api/v1/catalogue", _resource),
                403,
                "yh_clerk",
                allowed=201,
            ),
            Row(
                f"{who} cannot mount 瑶海 market's unpublished resource (API)",
                persona,
                Call(POST, "/api/v1/catalogue/{draft}/mount", _mount),
                404,
                "yh_clerk",
            ),
            Row(
                f"{who} cannot compare the versions of 瑶海 market's unpublished resource (API)",
                persona,
                Call(GET, "/api/v1/catalogue/{draft}/diff?from=1&to=1"),
                404,
                "yh_clerk",
            ),
            Row(
                f"{who} cannot compare the versions of 瑶海 market's unpublished resource (page)",
                persona,
                Call(GET, "/admin/catalogue/{draft}/diff?from=1&to=1"),
                404,
                "yh_clerk",
            ),
            Row(
                f"{who} cannot read the rows of 瑶海 market's unpublished resource (API)",
                persona,
                Call(GET, f"/api/v1/catalogue/resources/{DRAFT_CODE}/rows"),
                404,
                "yh_clerk",
            ),
            Row(
                f"{who} cannot read the rows of 瑶海 market's unshared published resource (API)",
                persona,
                Call(GET, f"/api/v1/catalogue/resources/{PUBLISHED_CODE}/rows"),
                403,
                "yh_clerk",
                marker="{entity_name}",
            ),
            Row(
                f"{who} cannot preview the rows of 瑶海 market's unpublished resource (page)",
                persona,
                Call(GET, "/admin/catalogue/{draft}/preview"),
                404,
                "yh_clerk",
            ),
            Row(
                f"{who} cannot preview the rows of 瑶海 market's unshared published resource (page)",
                persona,
                Call(GET, "/admin/catalogue/{published}/preview"),
                403,
                "yh_clerk",
                marker="{entity_name}",
            ),
            # --- quality runs ------------------------------------------------------------------------------
            Row(
                f"{who} cannot open 瑶海 market's quality run (page)",
                persona,
                Call(GET, "/admin/quality/runs/{run}"),
                404,
                "yh_clerk",
            ),
            Row(
                f"{who} cannot read 瑶海 market's quality run (API)",
                persona,
                Call(GET, "/api/v1/quality/runs/{run}"),
                404,
                "yh_clerk",
            ),
            Row(
                f"{who}'s quality runs leave out 瑶海 market's (API)",
                persona,
                Call(GET, "/api/v1/quality/runs"),
                200,
                "yh_clerk",
                marker=PUBLISHED_CODE,
            ),
            Row(
                f"{who}'s quality dashboard leaves out 瑶海 market's resource (page)",
                persona,
                Call(GET, "/admin/quality"),
                200,
                "yh_clerk",
                marker="瑶海区市场主体登记信息",
            ),
            Row(
                f"{who} cannot run a quality check of 瑶海 market's resource (page)",
                persona,
                Call(POST, "/admin/quality/resources/{published}/run", kind="form"),
                404,
                "yh_clerk",
                allowed=303,
            ),
            Row(
                f"{who}'s tickets leave out the quality ticket raised for 瑶海 market (page)",
                persona,
                Call(GET, "/tickets"),
                200,
                "yh_clerk",
                marker=FAILING_RULE,
            ),
            Row(
                f"{who}'s tickets leave out the quality ticket raised for 瑶海 market (API)",
                persona,
                Call(GET, "/api/v1/tickets"),
                200,
                "yh_clerk",
                marker=FAILING_RULE,
            ),
            Row(
                f"{who} cannot open 瑶海 market's resource in the quality console (page)",
                persona,
                Call(GET, "/admin/quality/resources/{published}"),
                404,
                "yh_clerk",
            ),
            # --- loads -------------------------------------------------------------------------------------
            Row(
                f"{who} cannot open 瑶海 market's load (page)",
                persona,
                Call(GET, "/admin/loads/{load}"),
                404,
                "yh_clerk",
            ),
            Row(
                f"{who} cannot read 瑶海 market's load (API)",
                persona,
                Call(GET, "/api/v1/ingest/loads/{load}"),
                404,
                "yh_clerk",
            ),
            Row(
                f"{who} cannot read 瑶海 market's quarantined rows (API)",
                persona,
                Call(GET, "/api/v1/ingest/loads/{load}/quarantine"),
                404,
                "yh_clerk",
            ),
            Row(
                f"{who}'s loads leave out 瑶海 market's (page)",
                persona,
                Call(GET, "/admin/loads"),
                200,
                "yh_clerk",
                marker=PUBLISHED_DATASET,
            ),
            Row(
                f"{who}'s loads leave out 瑶海 market's (API)",
                persona,
                Call(GET, "/api/v1/ingest/loads"),
                200,
                "yh_clerk",
                marker=PUBLISHED_DATASET,
            ),
            Row(
                f"{who} cannot upload a file into 瑶海 market's resource (page)",
                persona,
                Call(POST, "/admin/loads/upload", _upload, kind="upload"),
                403,
                "yh_clerk",
                allowed=303,
            ),
            Row(
                f"{who} cannot push a batch into 瑶海 market's dataset (API)",
                persona,
                Call(POST, f"/api/v1/ingest/{PUBLISHED_DATASET}/batches", _batch, kind="push"),
                404,
                "yh_clerk",
                allowed=201,
            ),
        )
    ),
]


# --- the world and its signed-in people -------------------------------------------------------------------
@pytest.fixture(scope="module")
def matrix_platform(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, schema_engine: Engine
) -> Iterator[Platform]:
    """One platform for the module: the rows only read, or add what no later row depends on."""
    empty_all_tables(schema_engine)
    settings = Settings(
        env="test",
        data_dir=Path(tmp_path_factory.mktemp("matrix")) / "var",
        database_url=database_url,
        worker_in_process=False,
        password_time_cost=1,
        password_memory_kib=64,
        password_parallelism=1,
    )
    platform = build_platform(settings)
    yield platform
    platform.dispose()


@pytest.fixture(scope="module")
def world(matrix_platform: Platform) -> World:
    return build_world(matrix_platform)


class People:
    """Each persona signed in once, in a browser of their own, as the rows need them."""

    def __init__(self, platform: Platform, world: World, stack: ExitStack) -> None:
        self.app = create_app(platform)
        self.world = world
        self.stack = stack
        self.sessions: dict[str, Session] = {}
        self.counter = itertools.count(1)

    def browser(self) -> TestClient:
        return self.stack.enter_context(TestClient(self.app))

    def sign_in(self, persona: str) -> Session:
        client = self.browser()
        citizen = self.world.citizens.get(persona)
        signed_in(client, citizen.id_number if citizen else persona, PASSWORD)
        found = CSRF.findall(client.get("/account").text)
        assert found, f"{persona} has no account page"
        return Session(client, found[0])

    def __getitem__(self, persona: str) -> Session:
        if persona not in self.sessions:
            self.sessions[persona] = self.sign_in(persona)
        return self.sessions[persona]

    def places(self, persona: str) -> Places:
        w = self.world
        return {
            "persona": persona,
            "n": next(self.counter),
            "ticket": w.tickets["yh_market"],
            # The persona's own organisation's ticket, to ask for another ticket's file through it.
            "own_ticket": w.tickets["ly_market" if persona.startswith("ly_") else "yh_market"],
            "evidence": w.evidence_id,
            "client": w.client_id,
            "published": w.published_id,
            "draft": w.draft_id,
            "load": w.load_id,
            "run": w.run_id,
            "msg_a": w.inbox["A"],
            "msg_yh": w.inbox["yh_clerk"],
            "yh_market": w.org_id("yh_market"),
            "yh_spare": w["yh_spare"].user_id,
            "a_id_number": CITIZEN_A.id_number,
            "a_masked_id": CITIZEN_A.masked_id,
            "a_name": CITIZEN_A.name,
            "entity_name": entity()["name"],
        }


@pytest.fixture(scope="module")
def people(matrix_platform: Platform, world: World) -> Iterator[People]:
    with ExitStack() as stack:
        yield People(matrix_platform, world, stack)


def _shown(reply: httpx.Response) -> str:
    return f"{reply.status_code} {reply.headers.get('location', '')} {reply.text[:300]}"


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_row(people: People, row: Row) -> None:
    places = people.places(row.persona)
    reply = people[row.persona].send(row.call, places)
    assert reply.status_code == row.refused, _shown(reply)
    if reply.status_code == 303:
        # A refusal by redirect leads to signing in, never to the page asked for.
        assert reply.headers["location"].startswith("/login?next="), _shown(reply)
    marker = row.marker.format(**places)
    if marker:
        assert marker not in reply.text, f"{row.persona} was shown {marker!r}"
    if row.persona == "B":
        # Nothing of A's reaches B, whatever the answer.
        assert CITIZEN_A.id_number not in reply.text
        assert CITIZEN_A.masked_id not in reply.text
    owned = people.places(row.owner)
    allowed = people[row.owner].send(row.call, owned)
    assert allowed.status_code == row.allowed, _shown(allowed)
    if marker:
        assert row.marker.format(**owned) in allowed.text, f"{row.owner} was not shown {marker!r}"


def _live_sessions(platform: Platform, user_id: int | None) -> set[str]:
    query = select(login_session.c.id).where(
        login_session.c.user_id == user_id, login_session.c.ended_at.is_(None)
    )
    with platform.engine.connect() as conn:
        return {str(r.id) for r in conn.execute(query)}


def test_a_citizen_cannot_end_another_citizens_session(
    matrix_platform: Platform, world: World, people: People
) -> None:
    """B posts the end of one of A's sessions (on A's phone, say): refused, and A's session still works;
    A ending it from another device succeeds, and that session is then signed out."""
    owner, intruder = people["A"], people["B"]
    phone = people.browser()
    before = _live_sessions(matrix_platform, world["A"].user_id)
    signed_in(phone, CITIZEN_A.id_number, PASSWORD)
    (session_id,) = _live_sessions(matrix_platform, world["A"].user_id) - before
    end = Call(POST, "/account/sessions/end", lambda _: {"session_id": session_id}, kind="form")

    refused = intruder.send(end, people.places("B"))
    assert refused.status_code == 403, _shown(refused)
    assert CITIZEN_A.masked_id not in refused.text
    still = phone.get("/api/v1/account")
    assert still.status_code == 200
    assert still.json()["id_number"] == CITIZEN_A.masked_id
    assert session_id in _live_sessions(matrix_platform, world["A"].user_id)

    ended = owner.send(end, people.places("A"))
    assert (ended.status_code, ended.headers["location"]) == (303, "/account?done=session_ended")
    assert phone.get("/api/v1/account").status_code == 401
    assert owner.client.get("/api/v1/account").status_code == 200
