"""The small province the authorisation matrix runs in (imported by name: the test folders are not packages).

Two sibling counties of Hefei, 瑶海区 (340102) and 庐阳区 (340103), each with a market-supervision bureau,
瑶海区 also with a public-security branch that 瑶海 market supervision shares nothing with; the province's
data bureau, which publishes catalogue resources and grants registry functions. Two citizens, A and B,
registered through the real use case against a population registry holding them. Each owner holds
something the others must not reach: A's sessions and inbox message; 瑶海 market's ticket with its
evidence, staff, OpenID Connect client, catalogue resources (one published, mounted, loaded and checked,
its failing rule raising a ticket; one unpublished), load and quality run; 瑶海 public security's
registry call. Parts of tests/identity/people.py and tests/datahub/test_catalogue_world.py are repeated
here because test folders cannot import each other.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from people import Person, load_registries, register  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.ingest import api as ingest
from wanshi.datahub.quality import api as quality
from wanshi.datahub.registry import api as registry
from wanshi.identity.api import CreateStaffUser
from wanshi.identity.services.oidc import OidcService, RegisterClient, oidc_config
from wanshi.kernel.actor import SYSTEM, Actor, Role
from wanshi.notify import api as notify
from wanshi.org import api as org
from wanshi.tickets import api as tickets

PASSWORD = "Anhui#2026pass"
ORGANISATIONS = {
    "bureau": ("安徽省数据资源管理局", "340000"),
    "yh_market": ("瑶海区市场监督管理局", "340102"),
    "yh_police": ("合肥市公安局瑶海分局", "340102"),
    "ly_market": ("庐阳区市场监督管理局", "340103"),
}
STAFF = {
    "prov_admin": ("bureau", Role.SYS_ADMIN),
    "yh_clerk": ("yh_market", Role.CLERK),
    "yh_admin": ("yh_market", Role.ORG_ADMIN),
    "yh_spare": ("yh_market", Role.CLERK),  # whose roles and password administrators change; nobody signs in
    "yhps_clerk": ("yh_police", Role.CLERK),
    "yhps_admin": ("yh_police", Role.ORG_ADMIN),
    "ly_clerk": ("ly_market", Role.CLERK),
    "ly_admin": ("ly_market", Role.ORG_ADMIN),
    "yh_auditor": ("yh_market", Role.AUDIT_ADMIN),
    "ly_auditor": ("ly_market", Role.AUDIT_ADMIN),
}
# 瑶海 market supervision's published resource (mounted, loaded, checked) and its unpublished draft.
PUBLISHED_CODE = "331007001/000001"
PUBLISHED_DATASET = "yh_market_entity"
DRAFT_CODE = "331007001/000002"
DRAFT_DATASET = "yh_market_draft"
DRAFT_NAME = "瑶海区市场主体年报（未发布）"
# A rule off the key column: the quality engine fails on a rule over the key once a dataset has several
# batch files (reported to the lead), and the rows push and upload more batches before running again.
RULES = f"""
dataset: {PUBLISHED_DATASET}
key: uscc
rules:
  - id: name.present
    kind: not_null
    field: name
    message: 企业名称不能为空
  - id: founded.recent
    kind: range
    field: founded_on
    min: 2021-01-01
    message: 成立日期早于本辖区登记系统启用日期
"""
FAILING_RULE = "founded.recent"  # fails on ENTITY: the run raises a ticket for 瑶海 market
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CLIENT_NAME = "瑶海区市场监管业务系统"
PREFILL_PURPOSE = "瑶海公安户籍业务预填"  # the purpose of 瑶海 public security's registry call
ENTITY = {"uscc": "91110000600037341L", "name": "合肥瑶海示例商贸有限公司", "founded_on": "2020-01-01"}


CITIZEN_A = Person(1, "张安")
CITIZEN_B = Person(2, "李博")


@dataclass(frozen=True)
class World:
    organisations: dict[str, org.Organisation]
    actors: dict[str, Actor]
    citizens: dict[str, Person]
    tickets: dict[str, str]  # organisation key -> the number of a ticket it works
    evidence_id: int  # a file attached to 瑶海 market's ticket
    client_id: str  # 瑶海 market's OpenID Connect client
    published_id: int
    draft_id: int
    load_id: int
    run_id: int
    inbox: dict[str, int]  # username -> the id of a message in their inbox

    def __getitem__(self, username: str) -> Actor:
        return self.actors[username]

    def org_id(self, key: str) -> int:
        return self.organisations[key].id


def _resource(platform: Platform, actor: Actor, provider: int, code: str, name: str, dataset: str) -> int:
    items = (
        catalogue.ItemSpec(name="uscc", label="统一社会信用代码", length=18, required=True),
        catalogue.ItemSpec(name="name", label="企业名称", length=200, required=True, grade="public"),
        catalogue.ItemSpec(name="founded_on", label="成立日期", data_type="date"),
    )
    with platform.uow() as uow:
        created = catalogue.register_resource(
            uow,
            catalogue.RegisterResource(
                code=code,
                provider_organisation_id=provider,
                name=name,
                summary="辖区内市场主体的登记信息，含名称、统一社会信用代码和成立日期。",
                format="数据库",
                items=items,
                share_type=catalogue.ShareType.CONDITIONAL,
                share_conditions="仅向承担市场监管职责的部门共享",
                share_method="接口调用",
                open_type=catalogue.OpenType.CONDITIONAL,
                open_conditions="经申请审核后开放",
                update_cycle=catalogue.UpdateCycle.DAILY,
            ),
            actor,
        )
    with platform.uow() as uow:
        catalogue.mount_resource(
            uow,
            catalogue.MountResource(
                resource_id=created.id, kind=catalogue.MountKind.DATASET, dataset=dataset
            ),
            actor,
        )
    return created.id


def _publish(platform: Platform, provider: Actor, bureau: Actor, resource_id: int) -> None:
    with platform.uow() as uow:
        catalogue.submit_resource(uow, catalogue.SubmitResource(resource_id=resource_id), provider)
    with platform.uow() as uow:
        catalogue.review_resource(
            uow, catalogue.ReviewResource(resource_id=resource_id, publish=True), bureau
        )


def _inbox_message(platform: Platform, user_id: int, title: str) -> int:
    with platform.uow() as uow:
        queued = notify.queue_notification(
            uow,
            notify.Notification(
                channels=frozenset({notify.Channel.INBOX}),
                recipient_user_id=user_id,
                title=title,
                body=f"{title}，请及时查看。",
                link="/inbox",
            ),
        )
        uow.commit()
    assert queued.inbox_message_id is not None
    return queued.inbox_message_id


def _people(platform: Platform) -> tuple[dict[str, org.Organisation], dict[str, Actor]]:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    organisations = {}
    for key, (name, division) in ORGANISATIONS.items():
        with platform.uow() as uow:
            organisations[key] = org.create_organisation(
                uow, org.CreateOrganisation(name=name, division_code=division), SYSTEM
            )
    actors = {}
    for username, (unit, role) in STAFF.items():
        with platform.uow() as uow:
            actors[username] = platform.identity.create_staff_user(
                uow,
                CreateStaffUser(
                    username=username,
                    display_name=username,
                    organisation_id=organisations[unit].id,
                    password=PASSWORD,
                    roles=(role,),
                ),
                SYSTEM,
            ).to_actor()
    return organisations, actors


def build_world(platform: Platform) -> World:
    organisations, actors = _people(platform)
    owner, bureau = actors["yh_clerk"], actors["prov_admin"]
    # The registry indexes both base registries; nobody here acts for an enterprise.
    load_registries(platform, (CITIZEN_A, CITIZEN_B))
    with platform.uow() as uow:
        registry.grant_registry(
            uow,
            registry.GrantRegistry(
                organisation_id=organisations["yh_police"].id, operations=(registry.Operation.PERSON_PREFILL,)
            ),
            bureau,
        )
    citizens = {"A": CITIZEN_A, "B": CITIZEN_B}
    for key, person in citizens.items():
        actors[key] = register(platform, person)
    with platform.uow() as uow:
        registry.person_prefill(
            uow,
            registry.Registry.build(platform.settings, platform.datastore),
            registry.PersonPrefill(id_number=CITIZEN_A.id_number, fields=("name",), purpose=PREFILL_PURPOSE),
            actors["yhps_clerk"],
        )

    numbers = {}
    for unit, clerk in (("yh_market", owner), ("ly_market", actors["ly_clerk"])):
        with platform.uow() as uow:
            numbers[unit] = tickets.open_ticket(
                uow,
                tickets.OpenTicket(organisation_id=organisations[unit].id, title="某商户证照信息有误"),
                clerk,
            ).number
    with platform.uow() as uow:
        ticket_id = tickets.find_ticket(uow, numbers["yh_market"], owner).view.ticket.id
    with platform.uow() as uow:
        evidence = tickets.attach_evidence(
            uow, ticket_id, tickets.EvidenceUpload(io.BytesIO(PDF), "现场照片.pdf"), owner, platform.files
        )
    with platform.uow() as uow:
        client = OidcService(oidc_config(platform.settings), platform.sealer).register_client(
            uow,
            RegisterClient(
                organisation_id=organisations["yh_market"].id,
                name=CLIENT_NAME,
                redirect_uris=("https://scjg.yaohai.example.cn/callback",),
            ),
            actors["yh_admin"],
        )

    yh_market = organisations["yh_market"].id
    published = _resource(
        platform, owner, yh_market, PUBLISHED_CODE, "瑶海区市场主体登记信息", PUBLISHED_DATASET
    )
    _publish(platform, owner, bureau, published)
    draft = _resource(platform, owner, yh_market, DRAFT_CODE, DRAFT_NAME, DRAFT_DATASET)
    with platform.uow() as uow:
        load = ingest.push_rows(
            uow,
            platform.datastore,
            ingest.PushRows(dataset=PUBLISHED_DATASET, idempotency_key="world-1", records=(ENTITY,)),
            owner,
        )
    with platform.uow() as uow:
        quality.save_rule_set(uow, quality.SaveRuleSet(resource_id=published, text=RULES), bureau)
    with platform.uow() as uow:
        run = quality.run_quality_check(
            uow,
            platform.datastore,
            quality.RunQualityCheck(resource_code=PUBLISHED_CODE),
            owner,
            tickets=quality.TicketOptions(platform.files, platform.settings.quality_ticket_days),
        )
    inbox = {
        name: _inbox_message(platform, actors[name].user_id or 0, f"给{name}的通知")
        for name in ("A", "yh_clerk")
    }
    return World(
        organisations,
        actors,
        citizens,
        numbers,
        evidence.id,
        client.client.client_id,
        published,
        draft,
        load.id,
        run.id,
        inbox,
    )


def entity(**changes: Any) -> dict[str, Any]:
    return {**ENTITY, **changes}
