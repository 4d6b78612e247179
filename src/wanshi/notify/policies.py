"""Who may do what with notices: one rule per service function.

``queue_notification`` has no rule of its own: the calling context authorised the action the notice
belongs to, inside the same unit of work.
"""

from __future__ import annotations

from wanshi.kernel.actor import Actor, ActorKind, Role
from wanshi.kernel.errors import NotAuthenticated, PermissionDenied

SENDER_ROLES = (Role.SYS_ADMIN, Role.ORG_ADMIN, Role.CLERK)


def _signed_in_user(actor: Actor) -> int:
    if actor.kind in (ActorKind.ANONYMOUS, ActorKind.SYSTEM) or actor.user_id is None:
        raise NotAuthenticated()
    return actor.user_id


def authorise_send_notification(actor: Actor) -> None:
    _signed_in_user(actor)
    if actor.kind != ActorKind.STAFF or not any(actor.has_role(r) for r in SENDER_ROLES):
        raise PermissionDenied("只有系统管理员、单位管理员和经办人员可以发送通知")


def authorise_list_inbox(actor: Actor) -> int:
    """Everyone signed in has an inbox, and sees only their own; returns whose inbox that is."""
    return _signed_in_user(actor)


def authorise_mark_read(actor: Actor, recipient_user_id: int) -> None:
    if _signed_in_user(actor) != recipient_user_id:
        raise PermissionDenied("只能操作自己的消息")


def authorise_list_sandbox_messages(actor: Actor) -> None:
    _signed_in_user(actor)
    if actor.kind != ActorKind.STAFF or not actor.has_role(Role.SYS_ADMIN):
        raise PermissionDenied("只有系统管理员可以查看沙箱发件箱")


def authorise_list_deliveries(actor: Actor) -> None:
    _signed_in_user(actor)
    if actor.kind != ActorKind.STAFF or not actor.has_role(Role.SYS_ADMIN):
        raise PermissionDenied("只有系统管理员可以查看消息投递记录")
