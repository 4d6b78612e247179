"""A province whose departments handle processes together (imported by name: test dirs are not packages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wanshi.bootstrap import Platform
from wanshi.forms import services as form_services
from wanshi.kernel.actor import Actor, Role
from wanshi.workflow import repository
from wanshi.workflow.services import definitions
from worlds import World, build_world

FILES = Path(__file__).parent / "files"
ORGANISATIONS = {
    "bureau": ("安徽省数据资源管理局", "340000", "11340000MB1234567A"),
    "civil": ("安徽省民政厅", "340000", "11340000003000003D"),
    "market": ("安徽省市场监督管理局", "340000", "11340000003000002C"),
}
STAFF = {
    "prov_admin": ("bureau", Role.SYS_ADMIN),
    "civil_clerk": ("civil", Role.CLERK),
    "civil_clerk2": ("civil", Role.CLERK),
    "civil_boss": ("civil", Role.SUPERVISOR),
    "market_clerk": ("market", Role.CLERK),
}
REVIEW_FORM = {
    "title": "受理审查表",
    "fields": [
        {
            "key": "amount",
            "type": "number",
            "label": "申请金额",
            "validation": {"required": True, "minimum": 0},
        },
        {"key": "remark", "type": "textarea", "label": "备注"},
    ],
}


def workflow_world(platform: Platform) -> World:
    return build_world(platform, ORGANISATIONS, STAFF)


def publish_review_form(platform: Platform, world: World) -> None:
    with platform.uow() as uow:
        created = form_services.create_form(
            uow,
            form_services.CreateForm(
                key="permit-review", organisation_id=world.org_id("civil"), title="受理审查表"
            ),
            world["civil_clerk"],
        )
    with platform.uow() as uow:
        form_services.save_draft(
            uow,
            form_services.SaveDraft(form_id=created.id, revision=1, document=REVIEW_FORM),
            world["civil_clerk"],
        )
    with platform.uow() as uow:
        form_services.publish_form(
            uow, form_services.PublishForm(form_id=created.id, revision=2), world["civil_clerk"]
        )


def deploy(
    platform: Platform, world: World, key: str, bpmn: str, *dmn: str, actor: Actor | None = None
) -> int:
    """Create a definition from files and deploy it; returns the definition id."""
    who = actor or world["civil_clerk"]
    with platform.uow() as uow:
        created = definitions.create_definition(
            uow,
            definitions.CreateDefinition(
                key=key,
                organisation_id=world.org_id("civil"),
                name=key,
                bpmn_xml=(FILES / bpmn).read_text(encoding="utf-8"),
                dmn_xml=tuple((FILES / d).read_text(encoding="utf-8") for d in dmn),
            ),
            who,
        )
    with platform.uow() as uow:
        definitions.deploy_definition(
            uow, definitions.DeployDefinition(definition_id=created.id, revision=1), platform.actions, who
        )
    return created.id


def open_task(platform: Platform, instance_id: int, element: str) -> Any:
    with platform.reader() as uow:
        return next(t for t in repository.open_tasks(uow.session, instance_id) if t.element_id == element)
