"""Who may do what with the working-day calendar: one rule per service function.

Every legal time limit in the province counts on this calendar, so only a province-level system
administrator may change it. Reading the calendar through ``load_calendar`` needs no rule: it is public
fact that every service computing a deadline uses.
"""

from __future__ import annotations

from wanshi.kernel.actor import Actor, ActorKind, Role
from wanshi.kernel.errors import NotAuthenticated, PermissionDenied

DENIED_CHANGE = "只有省级系统管理员可以修改工作日历"
DENIED_READ = "只有工作人员可以查看工作日历的调整记录"


def _signed_in_staff(actor: Actor, denied: str) -> None:
    if actor.kind in (ActorKind.ANONYMOUS, ActorKind.SYSTEM) or actor.user_id is None:
        raise NotAuthenticated()
    if actor.kind != ActorKind.STAFF:
        raise PermissionDenied(denied)


def _is_province(code: str) -> bool:
    return len(code) == 6 and code.isdigit() and code.endswith("0000")


def _province_sys_admin(actor: Actor) -> None:
    _signed_in_staff(actor, DENIED_CHANGE)
    if not any(g.role == Role.SYS_ADMIN and _is_province(g.division_code) for g in actor.grants):
        raise PermissionDenied(DENIED_CHANGE)


def authorise_set_override(actor: Actor) -> None:
    _province_sys_admin(actor)


def authorise_remove_override(actor: Actor) -> None:
    _province_sys_admin(actor)


def authorise_import_year_schedule(actor: Actor) -> None:
    _province_sys_admin(actor)


def authorise_list_overrides(actor: Actor) -> None:
    _signed_in_staff(actor, DENIED_READ)


def authorise_list_year_schedules(actor: Actor) -> None:
    _signed_in_staff(actor, DENIED_READ)
