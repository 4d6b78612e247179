"""Notification pages: everyone's inbox; the sandbox outbox and delivery list for administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.kernel.actor import Actor
from wanshi.notify import api as notify
from wanshi.notify import policies
from wanshi.web.auth import csrf_protect, get_platform, require_signed_in, require_staff
from wanshi.web.templating import render
from wanshi.web.web_registry import AdminSection, permitted, render_admin

PAGE = 20

pages = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
json_api = APIRouter(
    prefix="/api/v1/notifications", tags=["notifications"], dependencies=[Depends(csrf_protect)]
)

PlatformDep = Annotated[Platform, Depends(get_platform)]
StaffDep = Annotated[Actor, Depends(require_staff)]
# Everyone signed in has an inbox: people get notices too (a new device, a delegation, their cases).
SignedInDep = Annotated[Actor, Depends(require_signed_in)]


class InboxMessageOut(BaseModel):
    id: int
    category: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class InboxOut(BaseModel):
    unread: int
    messages: list[InboxMessageOut]


def _out(m: notify.InboxMessage) -> InboxMessageOut:
    return InboxMessageOut(
        id=m.id,
        category=m.category,
        title=m.title,
        body=m.body,
        link=m.link,
        created_at=m.created_at,
        read_at=m.read_at,
    )


@pages.get("/inbox")
def inbox_page(
    request: Request,
    platform: PlatformDep,
    actor: SignedInDep,
    unread: bool = False,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    with platform.uow() as uow:
        messages = notify.list_inbox(uow, actor, unread_only=unread, limit=PAGE + 1, offset=(page - 1) * PAGE)
        count = notify.unread_count(uow, actor)
    return render(
        request,
        "notify/inbox.html",
        {
            "messages": messages[:PAGE],
            "unread_total": count,
            "unread": unread,
            "page": page,
            "has_next": len(messages) > PAGE,
        },
    )


@pages.post("/inbox/{message_id}/read")
def mark_read_page(message_id: int, platform: PlatformDep, actor: SignedInDep) -> Response:
    with platform.uow() as uow:
        message = notify.mark_read(uow, message_id, actor)
    return RedirectResponse(message.link or "/inbox", status_code=303)


@pages.get("/admin/notifications")
def sandbox_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    channel: notify.Channel | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    with platform.uow() as uow:
        sent = notify.list_sandbox_messages(
            uow, actor, channel=channel, limit=PAGE + 1, offset=(page - 1) * PAGE
        )
        deliveries = notify.list_deliveries(uow, actor, limit=PAGE)
    return render_admin(
        request,
        actor,
        "notify/sandbox.html",
        {
            "sent": sent[:PAGE],
            "deliveries": deliveries,
            "channel": channel,
            "page": page,
            "has_next": len(sent) > PAGE,
        },
    )


@json_api.get("/inbox", response_model=InboxOut, summary="My inbox (newest first)")
def inbox_api(
    platform: PlatformDep,
    actor: SignedInDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> InboxOut:
    with platform.uow() as uow:
        messages = notify.list_inbox(uow, actor, unread_only=unread, limit=limit, offset=offset)
        count = notify.unread_count(uow, actor)
    return InboxOut(unread=count, messages=[_out(m) for m in messages])


@json_api.post(
    "/inbox/{message_id}/read", response_model=InboxMessageOut, summary="Mark one of my messages read"
)
def mark_read_api(message_id: int, platform: PlatformDep, actor: SignedInDep) -> InboxMessageOut:
    with platform.uow() as uow:
        return _out(notify.mark_read(uow, message_id, actor))


admin_sections = [
    AdminSection(
        "/admin/notifications",
        "短信与邮件沙箱",
        60,
        permitted(policies.authorise_list_sandbox_messages),
        description="沙箱网关保留的短信和邮件发件记录，以及投递状态。",
    )
]

routers = [pages, json_api]
