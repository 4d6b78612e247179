"""Legal-person accounts and enterprise delegation, through the services, against real registries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from people import Enterprise, Person, load_registries, register  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.datahub.registry import api as registry
from wanshi.identity.api import (
    ClaimLegalPerson,
    Delegation,
    Enterprises,
    GrantDelegation,
    LegalPerson,
    RevokeDelegation,
    legal_person_claims,
)
from wanshi.identity.domain.enterprise import LEGAL_REP_SCOPES, ActingRole, DelegationStatus
from wanshi.identity.tables import login_session
from wanshi.infra.tables import audit_entry
from wanshi.kernel import clock
from wanshi.kernel.actor import ANONYMOUS, Actor, ActorKind, Role, RoleGrant
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, WanshiError
from wanshi.notify import api as notify

ZHANG = Person(1, "张伟")  # legal representative of 合肥皖新科技有限公司 (and of a deregistered one)
LI = Person(2, "李娜")  # the agent
WANG = Person(3, "王强")  # another citizen, legal representative of another company
ZHAO = Person(4, "赵敏")  # registered, but not in the population registry: no real-name check
WANXIN = Enterprise(1, "合肥皖新科技有限公司", "张伟")
OTHER = Enterprise(2, "芜湖长江物流有限公司", "王强")
CLOSED = Enterprise(3, "蚌埠淮河贸易有限公司", "张伟", status="注销")
UNVERIFIED = Enterprise(4, "安庆黄梅戏文化有限公司", "赵敏")
NOT_IN_REGISTRY = Enterprise(9, "不存在的公司", "张伟")
STAFF = Actor(
    kind=ActorKind.STAFF,
    user_id=900,
    username="clerk",
    session_id="s" * 64,
    auth_methods=("pwd", "otp", "mfa"),
    grants=(RoleGrant(Role.SECURITY_ADMIN, 1, "340000"), RoleGrant(Role.CLERK, 1, "340000")),
)


@dataclass
class World:
    platform: Platform
    enterprises: Enterprises
    people: dict[str, Actor]

    def __getitem__(self, name: str) -> Actor:
        return self.people[name]

    def now_actor(self, name: str) -> Actor:
        """The actor the next request of this person's session would carry."""
        with self.platform.uow() as uow:
            found = self.platform.identity.sessions.session_actor(uow, self.people[name].session_id or "")
        assert found is not None
        return found


def enterprises_of(platform: Platform) -> Enterprises:
    return Enterprises(platform.identity.accounts, max_days=platform.settings.delegation_max_days)


def build(platform: Platform) -> World:
    load_registries(platform, [ZHANG, LI, WANG], [WANXIN, OTHER, CLOSED, UNVERIFIED])
    people = {p.name: register(platform, p) for p in (ZHANG, LI, WANG, ZHAO)}
    return World(platform, enterprises_of(platform), people)


@pytest.fixture
def world(platform: Platform) -> World:
    return build(platform)


def claim(world: World, who: str, enterprise: Enterprise, name: str | None = None) -> LegalPerson:
    with world.platform.uow() as uow:
        return world.enterprises.claim_legal_person(
            uow,
            ClaimLegalPerson(credit_code=enterprise.credit_code, name=name or enterprise.name),
            world[who],
        )


def grant(
    world: World,
    legal_person: LegalPerson,
    agent: Person,
    scopes: tuple[str, ...] = ("apply", "view"),
    *,
    by: str = "张伟",
    days: int = 30,
    name: str | None = None,
    valid_from: date | None = None,
) -> Delegation:
    cmd = GrantDelegation(
        legal_person_id=legal_person.id,
        agent_id_number=agent.id_number,
        agent_name=name or agent.name,
        scopes=scopes,
        valid_from=valid_from,
        valid_until=clock.today_in_china() + timedelta(days=days),
    )
    with world.platform.uow() as uow:
        return world.enterprises.grant_delegation(uow, cmd, world[by])


def revoke(world: World, delegation: Delegation, by: str = "张伟") -> Delegation:
    cmd = RevokeDelegation(legal_person_id=delegation.legal_person_id, delegation_id=delegation.id)
    with world.platform.uow() as uow:
        return world.enterprises.revoke_delegation(uow, cmd, world[by])


def act_for(world: World, who: str | Actor, legal_person_id: int) -> None:
    actor = world.now_actor(who) if isinstance(who, str) else who
    with world.platform.uow() as uow:
        world.enterprises.act_for(uow, legal_person_id, actor)


def audits(platform: Platform, action: str) -> list[Any]:
    with platform.engine.connect() as conn:
        return list(
            conn.execute(
                select(audit_entry)
                .where(audit_entry.c.action == action, audit_entry.c.outcome == "success")
                .order_by(audit_entry.c.seq)
            ).all()
        )


def inbox(platform: Platform, actor: Actor) -> list[notify.InboxMessage]:
    with platform.uow() as uow:
        return notify.list_inbox(uow, actor)


def refused(world: World, call: Any) -> None:
    with pytest.raises(PermissionDenied), world.platform.uow() as uow:
        call(uow)


# --- opening a legal person's account -------------------------------------------------------------------
def test_the_legal_representative_opens_the_account_once(world: World) -> None:
    company = claim(world, "张伟", WANXIN)
    assert (company.credit_code, company.name) == (WANXIN.credit_code, WANXIN.name)
    assert company.legal_rep_user_id == world["张伟"].user_id
    assert company.assurance is not None
    assert company.assurance.value == "real_name"
    (entry,) = audits(world.platform, "identity.legal_person.register")
    assert entry.object_id == str(company.id)
    assert entry.detail["credit_code"] == WANXIN.credit_code
    for who in ("张伟", "王强"):
        with pytest.raises(Conflict) as taken:
            claim(world, who, WANXIN)
        assert taken.value.error_code == "legal_person_taken"
    with world.platform.uow() as uow:
        assert legal_person_claims(uow, company.id) == (WANXIN.credit_code, WANXIN.name)
        with pytest.raises(NotFound):
            legal_person_claims(uow, company.id + 100)


@pytest.mark.parametrize(
    ("who", "enterprise", "name", "code", "message"),
    [
        ("王强", WANXIN, None, "enterprise_legal_rep_mismatch", "法定代表人与登记信息不一致"),
        ("张伟", WANXIN, "合肥皖新电子有限公司", "enterprise_name_mismatch", "名称与统一社会信用代码不一致"),
        ("张伟", CLOSED, None, "enterprise_deregistered", "该主体已注销"),
        ("张伟", NOT_IN_REGISTRY, None, "enterprise_unverified", "法人账号须经法人库核验一致后才能开通"),
        ("赵敏", UNVERIFIED, None, "real_name_required", "须先通过个人实名核验"),
    ],
)
def test_a_claim_the_registry_does_not_support_is_refused(
    world: World, who: str, enterprise: Enterprise, name: str | None, code: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as problem:
        claim(world, who, enterprise, name)
    assert problem.value.error_code == code
    assert message in problem.value.message
    with world.platform.uow() as uow:
        assert world.enterprises.my_enterprises(uow, world[who]) == []
    assert audits(world.platform, "identity.legal_person.register") == []


def test_no_account_while_the_legal_person_registry_cannot_answer(platform: Platform) -> None:
    load_registries(platform, [ZHANG], [WANXIN], kinds=(registry.Kind.PERSON,))
    world = World(platform, enterprises_of(platform), {"张伟": register(platform, ZHANG)})
    with pytest.raises(WanshiError) as down:
        claim(world, "张伟", WANXIN)
    assert down.value.error_code == "enterprise_unverified"
    assert "reindex" not in down.value.message
    with platform.uow() as uow:
        assert world.enterprises.my_enterprises(uow, world["张伟"]) == []


def test_a_malformed_credit_code_is_refused_before_the_registry_is_asked(world: World) -> None:
    wrong = WANXIN.credit_code[:-1] + ("0" if WANXIN.credit_code[-1] != "0" else "1")
    with pytest.raises(ValidationFailed) as problem, world.platform.uow() as uow:
        world.enterprises.claim_legal_person(
            uow, ClaimLegalPerson(credit_code=wrong, name=WANXIN.name), world["张伟"]
        )
    assert problem.value.error_code == "invalid_credit_code"
    assert problem.value.details["field"] == "credit_code"


# --- agents ----------------------------------------------------------------------------------------------
def test_grant_and_revoke_are_audited_and_the_agent_is_told(world: World) -> None:
    company = claim(world, "张伟", WANXIN)
    given = grant(world, company, LI, ("view", "apply"), days=30)
    now = clock.now()
    assert given.scopes == frozenset({"apply", "view"})
    assert given.agent_user_id == world["李娜"].user_id
    assert given.agent_name == "李娜"
    assert given.agent_id_masked
    assert LI.id_number not in given.agent_id_masked
    assert given.status(now) is DelegationStatus.ACTIVE
    assert given.last_day == clock.today_in_china() + timedelta(days=30)
    (granted,) = audits(world.platform, "identity.delegation.grant")
    assert granted.detail["agent_user_id"] == world["李娜"].user_id
    assert granted.detail["scopes"] == ["apply", "view"]
    (told,) = inbox(world.platform, world["李娜"])
    assert told.title == "企业授权通知"
    assert WANXIN.name in told.body
    assert "申办事项、查看办件" in told.body
    assert told.link == "/account/enterprises"

    with world.platform.uow() as uow:
        (listed,) = world.enterprises.list_delegations(uow, company.id, world["张伟"])
        (mine,) = world.enterprises.my_enterprises(uow, world["李娜"])
    assert listed.id == given.id
    assert (mine.legal_person.id, mine.role, mine.scopes) == (company.id, ActingRole.AGENT, given.scopes)

    gone = revoke(world, given)
    assert gone.status(clock.now()) is DelegationStatus.REVOKED
    revoke(world, given)  # again: nothing more happens
    (revoked,) = audits(world.platform, "identity.delegation.revoke")
    assert revoked.detail == {"delegation_id": given.id, "agent_user_id": world["李娜"].user_id}
    titles = [m.title for m in inbox(world.platform, world["李娜"])]
    assert sorted(titles) == ["企业授权已撤销", "企业授权通知"]
    with world.platform.uow() as uow:
        assert world.enterprises.my_enterprises(uow, world["李娜"]) == []
        (kept,) = world.enterprises.list_delegations(uow, company.id, world["张伟"])
    assert kept.revoked_at is not None
    # Once revoked, the same agent may be authorised again.
    assert grant(world, company, LI, ("pay",)).scopes == frozenset({"pay"})


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"scopes": ("apply", "manage_agents")}, "scope_not_delegable"),
        ({"scopes": ("apply", "sign_contracts")}, "scope_not_delegable"),
        ({"scopes": ()}, "scopes_required"),
        ({"days": 367}, "delegation_period_invalid"),
        ({"days": -1}, "delegation_period_invalid"),
        ({"valid_from": date(2020, 1, 1)}, "delegation_period_invalid"),
        ({"name": "李四"}, "agent_not_found"),
        ({"agent": Person(50, "钱七")}, "agent_not_found"),
        ({"agent": ZHANG}, "agent_is_legal_rep"),
        ({"agent": ZHAO}, "agent_not_real_name"),
    ],
)
def test_a_grant_outside_the_rules_is_refused(world: World, change: dict[str, Any], code: str) -> None:
    company = claim(world, "张伟", WANXIN)
    agent = change.pop("agent", LI)
    with pytest.raises((ValidationFailed, NotFound)) as problem:
        grant(world, company, agent, **change)
    assert problem.value.error_code == code
    with world.platform.uow() as uow:
        assert world.enterprises.list_delegations(uow, company.id, world["张伟"]) == []


def test_an_unknown_agent_and_a_wrong_name_get_the_same_answer(world: World) -> None:
    company = claim(world, "张伟", WANXIN)
    answers = []
    for agent, name in ((LI, "李四"), (Person(50, "钱七"), None)):
        with pytest.raises(NotFound) as problem:
            grant(world, company, agent, name=name)
        answers.append(problem.value.message)
    assert answers[0] == answers[1]


def test_the_longest_period_is_the_setting(world: World) -> None:
    company = claim(world, "张伟", WANXIN)
    given = grant(world, company, LI, days=world.platform.settings.delegation_max_days)
    assert given.last_day == clock.today_in_china() + timedelta(days=366)


def test_one_open_delegation_per_agent(world: World) -> None:
    company = claim(world, "张伟", WANXIN)
    grant(world, company, LI)
    with pytest.raises(Conflict) as twice:
        grant(world, company, LI, ("pay",))
    assert twice.value.error_code == "delegation_exists"


# --- acting for the enterprise ---------------------------------------------------------------------------
def _session_row(world: World, name: str) -> Any:
    with world.platform.engine.connect() as conn:
        return conn.execute(select(login_session).where(login_session.c.id == world[name].session_id)).first()


def test_switching_carries_the_scopes_and_a_revocation_applies_on_the_next_request(world: World) -> None:
    company = claim(world, "张伟", WANXIN)
    given = grant(world, company, LI, ("apply", "view"))
    assert world.now_actor("李娜").kind is ActorKind.CITIZEN

    act_for(world, "李娜", company.id)
    agent = world.now_actor("李娜")
    assert (agent.kind, agent.legal_person_id, agent.delegated_scopes) == (
        ActorKind.ENTERPRISE,
        company.id,
        frozenset({"apply", "view"}),
    )
    assert agent.user_id == world["李娜"].user_id

    act_for(world, "张伟", company.id)
    rep = world.now_actor("张伟")
    assert (rep.kind, rep.legal_person_id, rep.delegated_scopes) == (
        ActorKind.ENTERPRISE,
        company.id,
        LEGAL_REP_SCOPES,
    )
    assert (audits(world.platform, "identity.enterprise.act_for")[0]).detail == {
        "role": "agent",
        "scopes": ["apply", "view"],
    }

    revoke(world, given)
    after = world.now_actor("李娜")
    assert (after.kind, after.legal_person_id, after.delegated_scopes) == (
        ActorKind.CITIZEN,
        None,
        frozenset(),
    )
    assert _session_row(world, "李娜").legal_person_id is None
    # A later delegation does not switch the session back by itself.
    grant(world, company, LI, ("pay",))
    assert world.now_actor("李娜").kind is ActorKind.CITIZEN

    rep = world.now_actor("张伟")
    with world.platform.uow() as uow:
        world.enterprises.act_as_self(uow, rep)
    assert world.now_actor("张伟").kind is ActorKind.CITIZEN
    assert len(audits(world.platform, "identity.enterprise.act_as_self")) == 1


def test_the_legal_representative_manages_agents_while_acting_for_the_company(world: World) -> None:
    company = claim(world, "张伟", WANXIN)
    act_for(world, "张伟", company.id)
    world.people["张伟"] = world.now_actor("张伟")
    assert grant(world, company, LI).agent_user_id == world["李娜"].user_id


@pytest.fixture
def late_evening() -> Iterator[list[datetime]]:
    """A clock the test moves: 23:50 in China on the most recent day that is over, so jobs are due."""
    day = (datetime.now(UTC).astimezone(clock.CHINA_TZ) - timedelta(days=1)).date()
    moment = [datetime.combine(day, time(23, 50), clock.CHINA_TZ).astimezone(UTC)]
    previous = clock.set_clock(lambda: moment[0])
    yield moment
    clock.set_clock(previous)


def test_an_expired_delegation_stops_at_the_end_of_its_last_day(
    platform: Platform, late_evening: list[datetime]
) -> None:
    world = build(platform)
    company = claim(world, "张伟", WANXIN)
    grant(world, company, LI, days=0)  # today only
    act_for(world, "李娜", company.id)
    assert world.now_actor("李娜").legal_person_id == company.id

    late_evening[0] += timedelta(minutes=9, seconds=59)
    assert world.now_actor("李娜").legal_person_id == company.id
    late_evening[0] += timedelta(seconds=2)  # past midnight in China
    expired = world.now_actor("李娜")
    assert (expired.kind, expired.legal_person_id) == (ActorKind.CITIZEN, None)
    with pytest.raises(PermissionDenied):
        act_for(world, expired, company.id)
    refused(world, lambda uow: world.enterprises.get_legal_person(uow, company.id, expired))
    rep = world.now_actor("张伟")
    with world.platform.uow() as uow:
        assert world.enterprises.my_enterprises(uow, expired) == []
        (old,) = world.enterprises.list_delegations(uow, company.id, rep)
    assert old.status(clock.now()) is DelegationStatus.EXPIRED


def test_a_delegation_starting_later_gives_nothing_yet(world: World) -> None:
    company = claim(world, "张伟", WANXIN)
    later = grant(world, company, LI, valid_from=clock.today_in_china() + timedelta(days=2), days=5)
    assert later.status(clock.now()) is DelegationStatus.PENDING
    with pytest.raises(PermissionDenied):
        act_for(world, "李娜", company.id)


# --- who may see and do what ------------------------------------------------------------------------------
def test_authorisation_matrix(world: World) -> None:
    company = claim(world, "张伟", WANXIN)
    other = claim(world, "王强", OTHER)
    given = grant(world, company, LI)
    e = world.enterprises
    revoke_cmd = RevokeDelegation(legal_person_id=company.id, delegation_id=given.id)
    grant_cmd = GrantDelegation(
        legal_person_id=company.id,
        agent_id_number=WANG.id_number,
        agent_name=WANG.name,
        scopes=("apply",),
        valid_until=clock.today_in_china() + timedelta(days=3),
    )
    li, wang = world.now_actor("李娜"), world.now_actor("王强")

    # Another citizen: nothing of the company, and cannot act for it.
    for actor in (wang, STAFF, ANONYMOUS):
        refused(world, lambda uow, a=actor: e.get_legal_person(uow, company.id, a))
        refused(world, lambda uow, a=actor: e.list_delegations(uow, company.id, a))
        refused(world, lambda uow, a=actor: e.grant_delegation(uow, grant_cmd, a))
        refused(world, lambda uow, a=actor: e.revoke_delegation(uow, revoke_cmd, a))
        refused(world, lambda uow, a=actor: e.act_for(uow, company.id, a))
    # Staff and the anonymous have no enterprises and open none.
    for actor in (STAFF, ANONYMOUS):
        refused(world, lambda uow, a=actor: e.my_enterprises(uow, a))
        refused(
            world,
            lambda uow, a=actor: e.claim_legal_person(
                uow, ClaimLegalPerson(credit_code=CLOSED.credit_code, name=CLOSED.name), a
            ),
        )
    # The agent: sees the company and their own delegation, not the others', and manages nothing.
    with world.platform.uow() as uow:
        assert e.get_legal_person(uow, company.id, li).id == company.id
        assert [a.delegation_id for a in e.my_enterprises(uow, li)] == [given.id]
    refused(world, lambda uow: e.list_delegations(uow, company.id, li))
    refused(world, lambda uow: e.grant_delegation(uow, grant_cmd, li))
    refused(world, lambda uow: e.revoke_delegation(uow, revoke_cmd, li))
    refused(world, lambda uow: e.get_legal_person(uow, other.id, li))
    refused(world, lambda uow: e.act_for(uow, other.id, li))
    # One legal representative is nobody for another's company.
    zhang = world.now_actor("张伟")
    refused(world, lambda uow: e.list_delegations(uow, other.id, zhang))
    # The agent after revocation.
    revoke(world, given)
    li = world.now_actor("李娜")
    refused(world, lambda uow: e.get_legal_person(uow, company.id, li))
    refused(world, lambda uow: e.act_for(uow, company.id, li))
    with world.platform.uow() as uow:
        assert e.my_enterprises(uow, li) == []
    # Every refusal is in the audit log.
    with world.platform.engine.connect() as conn:
        denied = conn.execute(select(audit_entry).where(audit_entry.c.outcome == "denied")).all()
    assert {r.action for r in denied} >= {
        "identity.legal_person.view",
        "identity.delegation.list",
        "identity.delegation.grant",
        "identity.delegation.revoke",
        "identity.enterprise.act_for",
        "identity.enterprise.list",
        "identity.legal_person.register",
    }
    # A revocation through another company's address is not found, whoever asks.
    with pytest.raises(NotFound), world.platform.uow() as uow:
        e.revoke_delegation(uow, RevokeDelegation(legal_person_id=other.id, delegation_id=given.id), wang)
