"""A small province for ticket tests: Hefei (city), two of its districts, and their staff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from tickets_world import MONDAY, PASSWORD, World

from wanshi.bootstrap import Platform
from wanshi.identity.api import CreateStaffUser
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Role
from wanshi.org import api as org
from wanshi.tickets import api as tickets


@pytest.fixture
def frozen_clock() -> Iterator[list[datetime]]:
    """The platform clock, settable by the test: now[0] = ..."""
    now = [MONDAY]
    previous = clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(previous)


@pytest.fixture
def ticket_platform(platform: Platform) -> Platform:
    """The platform as bootstrap wires it: the tickets jobs and notice templates are registered."""
    assert tickets.REMINDER_JOB in platform.jobs.handlers
    return platform


@pytest.fixture
def world(ticket_platform: Platform, frozen_clock: list[datetime]) -> World:
    platform = ticket_platform
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)

    def organisation(name: str, division: str) -> org.Organisation:
        with platform.uow() as uow:
            return org.create_organisation(
                uow, org.CreateOrganisation(name=name, division_code=division), SYSTEM
            )

    orgs = {
        "province": organisation("安徽省数据资源管理局", "340000"),
        "city": organisation("合肥市数据资源局", "340100"),
        "yaohai": organisation("瑶海区数据资源局", "340102"),
        "yaohai_urban": organisation("瑶海区城市管理局", "340102"),
        "luyang": organisation("庐阳区数据资源局", "340103"),
    }
    staff = [
        ("yh_clerk", "王芳", "yaohai", (Role.CLERK,)),
        ("yh_clerk2", "李强", "yaohai", (Role.CLERK,)),
        ("yh_urban", "赵敏", "yaohai_urban", (Role.CLERK,)),
        ("ly_clerk", "陈静", "luyang", (Role.CLERK,)),
        ("hf_clerk", "孙磊", "city", (Role.CLERK,)),
        ("hf_super", "周洁", "city", (Role.SUPERVISOR,)),
        ("prov_admin", "吴刚", "province", (Role.SYS_ADMIN,)),
    ]
    actors = {}
    for username, name, where, roles in staff:
        with platform.uow() as uow:
            actors[username] = platform.identity.create_staff_user(
                uow,
                CreateStaffUser(
                    username=username,
                    display_name=name,
                    organisation_id=orgs[where].id,
                    password=PASSWORD,
                    roles=roles,
                ),
                SYSTEM,
            ).to_actor()
    return World(actors=actors, **orgs)
