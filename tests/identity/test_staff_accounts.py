from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from wanshi.bootstrap import Platform
from wanshi.identity.api import CreateStaffUser, GrantRole, SetPassword, StaffQuery, load_actor
from wanshi.infra.tables import audit_entry
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor, Role
from wanshi.kernel.errors import Conflict, NotAuthenticated, PermissionDenied, ValidationFailed
from wanshi.org import api as org

GOOD = "Anhui#2026pass"


@pytest.fixture
def orgs(platform: Platform) -> dict[str, org.Organisation]:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), _province_sys())
    made = {}
    for key, name, division in [
        ("prov", "省数据资源局", "340000"),
        ("yaohai", "瑶海区数据资源局", "340102"),
        ("luyang", "庐阳区数据资源局", "340103"),
    ]:
        with platform.uow() as uow:
            made[key] = org.create_organisation(
                uow, org.CreateOrganisation(name=name, division_code=division), SYSTEM
            )
    return made


def _province_sys() -> Actor:
    from wanshi.kernel.actor import ActorKind, RoleGrant

    return Actor(
        kind=ActorKind.STAFF,
        username="root",
        division_code="340000",
        grants=(RoleGrant(Role.SYS_ADMIN, 1, "340000"),),
    )


def _create(platform: Platform, actor: Actor, **kw: object) -> Actor:
    with platform.uow() as uow:
        return platform.identity.create_staff_user(uow, CreateStaffUser(**kw), actor).to_actor()  # type: ignore[arg-type]


def test_login_lockout_and_audit(platform: Platform, orgs: dict[str, org.Organisation]) -> None:
    _create(
        platform,
        SYSTEM,
        username="clerk1",
        display_name="王芳",
        organisation_id=orgs["yaohai"].id,
        password=GOOD,
        roles=(Role.CLERK,),
    )
    with platform.uow() as uow:
        actor = platform.identity.authenticate(uow, "clerk1", GOOD)
    assert actor.division_code == "340102"
    assert actor.can_in_division("340102", Role.CLERK)
    assert not actor.can_in_division("340103", Role.CLERK)
    for _ in range(platform.settings.login_max_failures):
        with platform.uow() as uow, pytest.raises(NotAuthenticated):
            platform.identity.authenticate(uow, "clerk1", "wrong")
    with platform.uow() as uow, pytest.raises(NotAuthenticated) as locked:
        platform.identity.authenticate(uow, "clerk1", GOOD)
    assert locked.value.error_code == "account_locked"
    later = clock.now() + timedelta(minutes=platform.settings.login_lockout_minutes + 1)
    previous = clock.set_clock(lambda: later)
    try:
        with platform.uow() as uow:
            platform.identity.authenticate(uow, "clerk1", GOOD)
    finally:
        clock.set_clock(previous)
    with platform.engine.connect() as conn:
        outcomes = [
            r.outcome
            for r in conn.execute(
                select(audit_entry)
                .where(audit_entry.c.action == "identity.login")
                .order_by(audit_entry.c.seq)
            )
        ]
    # A right password alone is not a login (no session yet, a second factor is owed): nothing to audit.
    assert outcomes == ["failure"] * platform.settings.login_max_failures + ["locked"]


def test_unknown_user_gets_the_same_answer(platform: Platform, orgs: dict[str, org.Organisation]) -> None:
    with platform.uow() as uow, pytest.raises(NotAuthenticated) as err:
        platform.identity.authenticate(uow, "nobody", GOOD)
    assert err.value.error_code == "bad_credentials"


def test_password_policy(platform: Platform, orgs: dict[str, org.Organisation]) -> None:
    with pytest.raises(ValidationFailed) as err:
        _create(
            platform,
            SYSTEM,
            username="weak",
            display_name="弱",
            organisation_id=orgs["prov"].id,
            password="short",
        )
    assert err.value.error_code == "weak_password"
    assert "至少 10 位" in err.value.message


def test_separated_duties_and_duplicate_usernames(
    platform: Platform, orgs: dict[str, org.Organisation]
) -> None:
    admin = _create(
        platform,
        SYSTEM,
        username="sec",
        display_name="安全员",
        organisation_id=orgs["prov"].id,
        roles=(Role.SECURITY_ADMIN,),
    )
    assert admin.user_id is not None
    with platform.uow() as uow, pytest.raises(ValidationFailed) as err:
        platform.identity.grant_role(uow, GrantRole(user_id=admin.user_id, role=Role.AUDIT_ADMIN), SYSTEM)
    assert err.value.error_code == "separated_duties"
    with pytest.raises(Conflict):
        _create(platform, SYSTEM, username="sec", display_name="重复", organisation_id=orgs["prov"].id)


def test_org_admin_manages_only_own_org_and_only_business_roles(
    platform: Platform, orgs: dict[str, org.Organisation]
) -> None:
    oadmin = _create(
        platform,
        SYSTEM,
        username="oadmin",
        display_name="单位管理员",
        organisation_id=orgs["yaohai"].id,
        roles=(Role.ORG_ADMIN,),
    )
    clerk = _create(
        platform,
        oadmin,
        username="clerk2",
        display_name="经办",
        organisation_id=orgs["yaohai"].id,
        roles=(Role.CLERK,),
    )
    assert clerk.has_role(Role.CLERK)
    with pytest.raises(PermissionDenied):
        _create(platform, oadmin, username="clerk3", display_name="越权", organisation_id=orgs["luyang"].id)
    assert clerk.user_id is not None
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        platform.identity.grant_role(uow, GrantRole(user_id=clerk.user_id, role=Role.SECURITY_ADMIN), oadmin)
    with platform.engine.connect() as conn:
        denied = conn.execute(select(audit_entry).where(audit_entry.c.outcome == "denied")).all()
    assert {d.action for d in denied} == {"identity.user.create", "identity.role.grant"}


def test_listing_staff_is_scoped_to_division(platform: Platform, orgs: dict[str, org.Organisation]) -> None:
    _create(
        platform,
        SYSTEM,
        username="yaadmin",
        display_name="瑶海",
        organisation_id=orgs["yaohai"].id,
        roles=(Role.ORG_ADMIN,),
    )
    _create(
        platform,
        SYSTEM,
        username="luadmin",
        display_name="庐阳",
        organisation_id=orgs["luyang"].id,
        roles=(Role.ORG_ADMIN,),
    )
    with platform.uow() as uow:
        row_actor = load_actor(uow, 1)
        assert row_actor is not None
        users, total = platform.identity.list_staff(uow, StaffQuery(), row_actor)
    assert (total, [u.username for u in users]) == (1, ["yaadmin"])


def test_changing_own_password_needs_the_current_one(
    platform: Platform, orgs: dict[str, org.Organisation]
) -> None:
    me = _create(
        platform, SYSTEM, username="myself", display_name="我", organisation_id=orgs["prov"].id, password=GOOD
    )
    assert me.user_id is not None
    with platform.uow() as uow, pytest.raises(ValidationFailed):
        platform.identity.set_password(
            uow, SetPassword(user_id=me.user_id, new_password="New#Pass2026x", current_password="bad"), me
        )
    with platform.uow() as uow:
        platform.identity.set_password(
            uow, SetPassword(user_id=me.user_id, new_password="New#Pass2026x", current_password=GOOD), me
        )
    with platform.uow() as uow:
        assert platform.identity.authenticate(uow, "myself", "New#Pass2026x").username == "myself"
