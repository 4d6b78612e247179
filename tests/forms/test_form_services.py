"""Designing forms at the same time: ownership, revisions, conflicts, publishing, shared groups."""

from __future__ import annotations

import copy

import pytest
from forms_world import MARRIAGE, forms_world
from sqlalchemy import select

from wanshi.bootstrap import Platform
from wanshi.forms import services
from wanshi.forms.domain.records import EventKind, FormKind
from wanshi.forms.tables import event, version
from wanshi.infra.tables import audit_entry
from wanshi.kernel.actor import ANONYMOUS
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from worlds import World


@pytest.fixture
def world(platform: Platform) -> World:
    return forms_world(platform)


def create(
    platform: Platform, world: World, key: str = "marriage", user: str = "civil_a", **extra: object
) -> int:
    with platform.uow() as uow:
        created = services.create_form(
            uow,
            services.CreateForm(
                key=key, organisation_id=world.org_id("civil"), title="婚姻登记预约申请表", **extra
            ),  # type: ignore[arg-type]
            world[user],
        )
    return created.id


def save(
    platform: Platform, world: World, form_id: int, revision: int, document: dict, user: str = "civil_a"
) -> int:  # type: ignore[type-arg]
    with platform.uow() as uow:
        return services.save_draft(
            uow, services.SaveDraft(form_id=form_id, revision=revision, document=document), world[user]
        ).revision


def test_two_editors_from_the_same_revision_get_a_conflict_not_a_lost_update(
    platform: Platform, world: World
) -> None:
    form_id = create(platform, world)
    first = copy.deepcopy(MARRIAGE)
    second = copy.deepcopy(MARRIAGE)
    second["title"] = "婚姻登记预约（第二人）"
    assert save(platform, world, form_id, 1, first) == 2
    with pytest.raises(Conflict) as caught:
        save(platform, world, form_id, 1, second, user="civil_b")
    assert caught.value.error_code == "form_changed"
    assert "civil_a" in caught.value.message
    assert caught.value.details["revision"] == 2
    with platform.reader() as uow:
        detail = services.get_form(uow, form_id, world["civil_b"])
    assert detail.record.title == "婚姻登记预约申请表"
    # Starting again from the revision now current succeeds.
    assert save(platform, world, form_id, 2, second, user="civil_b") == 3


def test_publishing_freezes_a_version_and_later_drafts_do_not_change_it(
    platform: Platform, world: World
) -> None:
    form_id = create(platform, world)
    save(platform, world, form_id, 1, MARRIAGE)
    with platform.uow() as uow:
        published = services.publish_form(
            uow, services.PublishForm(form_id=form_id, revision=2, note="首版"), world["civil_a"]
        )
    assert published.number == 1
    changed = copy.deepcopy(MARRIAGE)
    changed["title"] = "婚姻登记预约申请表（修订）"
    save(platform, world, form_id, 3, changed)
    with platform.reader() as uow:
        current = services.published_form(uow, "marriage", ANONYMOUS)
        detail = services.get_form(uow, form_id, world["civil_a"])
    assert current.document.title == "婚姻登记预约申请表"
    assert detail.record.draft_changed
    with platform.uow() as uow:
        services.publish_form(uow, services.PublishForm(form_id=form_id, revision=4), world["civil_a"])
    with platform.reader() as uow:
        assert services.published_form(uow, "marriage", ANONYMOUS).version.number == 2
        assert (
            services.published_form(uow, "marriage", ANONYMOUS, version=1).document.title
            == "婚姻登记预约申请表"
        )
    with platform.reader() as uow:
        kinds = [
            r.kind for r in uow.session.execute(select(event.c.kind).where(event.c.record_id == form_id))
        ]
        versions = (
            uow.session.execute(select(version.c.number).where(version.c.record_id == form_id))
            .scalars()
            .all()
        )
        audited = (
            uow.session.execute(select(audit_entry.c.action).where(audit_entry.c.object_id == str(form_id)))
            .scalars()
            .all()
        )
    assert kinds == [
        k.value
        for k in (
            EventKind.CREATED,
            EventKind.SAVED,
            EventKind.PUBLISHED,
            EventKind.SAVED,
            EventKind.PUBLISHED,
        )
    ]
    assert sorted(versions) == [1, 2]
    assert audited.count("forms.published") == 2


def test_publishing_an_unchanged_draft_is_refused(platform: Platform, world: World) -> None:
    form_id = create(platform, world)
    with platform.uow() as uow:
        services.publish_form(uow, services.PublishForm(form_id=form_id, revision=1), world["civil_a"])
    with platform.uow() as uow, pytest.raises(ValidationFailed) as caught:
        services.publish_form(uow, services.PublishForm(form_id=form_id, revision=2), world["civil_a"])
    assert caught.value.error_code == "form_unchanged"


def test_another_department_can_neither_see_nor_change_the_draft(platform: Platform, world: World) -> None:
    form_id = create(platform, world)
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        services.save_draft(
            uow, services.SaveDraft(form_id=form_id, revision=1, document=MARRIAGE), world["market_clerk"]
        )
    with platform.reader() as uow, pytest.raises(PermissionDenied):
        services.get_form(uow, form_id, world["market_clerk"])
    # The province's data bureau may help any department of its division; Hefei's may not.
    save(platform, world, form_id, 1, MARRIAGE, user="prov_admin")
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        services.create_form(
            uow,
            services.CreateForm(key="other", organisation_id=world.org_id("civil"), title="别的表单"),
            world["city_admin"],
        )


def test_an_unpublished_form_is_not_public(platform: Platform, world: World) -> None:
    create(platform, world)
    with platform.reader() as uow, pytest.raises(NotFound):
        services.published_form(uow, "marriage", ANONYMOUS)


def test_keys_are_unique_and_well_formed(platform: Platform, world: World) -> None:
    create(platform, world)
    with pytest.raises(Conflict) as taken:
        create(platform, world)
    assert taken.value.error_code == "form_key_taken"
    with pytest.raises(ValidationFailed) as bad:
        create(platform, world, key="Bad Key")
    assert bad.value.error_code == "form_key_invalid"


def test_shared_groups_and_templates_are_visible_to_every_department_once_published(
    platform: Platform, world: World
) -> None:
    template_id = create(platform, world, key="contact-template", kind=FormKind.TEMPLATE)
    save(platform, world, template_id, 1, MARRIAGE)
    with platform.reader() as uow:
        hidden, _ = services.list_forms(
            uow, services.ListForms(kinds=(FormKind.TEMPLATE,), with_shared=True), world["market_clerk"]
        )
    assert hidden == []
    with platform.uow() as uow:
        services.publish_form(uow, services.PublishForm(form_id=template_id, revision=2), world["civil_a"])
    with platform.reader() as uow:
        shared, _ = services.list_forms(
            uow, services.ListForms(kinds=(FormKind.TEMPLATE,), with_shared=True), world["market_clerk"]
        )
    assert [r.key for r in shared] == ["contact-template"]
    # Another department starts its own form from the template.
    with platform.uow() as uow:
        own = services.create_form(
            uow,
            services.CreateForm(
                key="market-form",
                organisation_id=world.org_id("market"),
                title="市场监管申请表",
                start_from="contact-template",
            ),
            world["market_clerk"],
        )
    assert own.draft["title"] == "市场监管申请表"
    assert [f["key"] for f in own.draft["fields"]] == [f["key"] for f in MARRIAGE["fields"]]


def test_a_bad_formula_or_prefill_source_is_refused_on_save(platform: Platform, world: World) -> None:
    form_id = create(platform, world)
    bad_formula = {
        "title": "测试表单",
        "fields": [{"key": "x", "type": "computed", "label": "X", "expression": "__import__('os')"}],
    }
    with pytest.raises(ValidationFailed) as formula:
        save(platform, world, form_id, 1, bad_formula)
    assert formula.value.error_code == "form_expression_invalid"
    bad_source = {
        "title": "测试表单",
        "fields": [{"key": "x", "type": "text", "label": "X", "prefill": "population.salary"}],
    }
    with pytest.raises(ValidationFailed) as source:
        save(platform, world, form_id, 1, bad_source)
    assert source.value.error_code == "form_prefill_unknown"


def test_archived_forms_cannot_be_published(platform: Platform, world: World) -> None:
    form_id = create(platform, world)
    with platform.uow() as uow:
        services.set_archived(
            uow, services.SetArchived(form_id=form_id, revision=1, archived=True), world["civil_a"]
        )
    with platform.uow() as uow, pytest.raises(ValidationFailed) as caught:
        services.publish_form(uow, services.PublishForm(form_id=form_id, revision=2), world["civil_a"])
    assert caught.value.error_code == "form_archived"


def test_an_archived_form_is_no_longer_offered_but_work_under_way_keeps_it(
    platform: Platform, world: World
) -> None:
    form_id = create(platform, world)
    save(platform, world, form_id, 1, MARRIAGE)
    with platform.uow() as uow:
        services.publish_form(uow, services.PublishForm(form_id=form_id, revision=2), world["civil_a"])
    with platform.uow() as uow:
        services.set_archived(
            uow, services.SetArchived(form_id=form_id, revision=3, archived=True), world["civil_a"]
        )
    with platform.reader() as uow, pytest.raises(NotFound):
        services.published_form(uow, "marriage", ANONYMOUS)
    with platform.reader() as uow:
        kept = services.published_form(uow, "marriage", ANONYMOUS, include_archived=True)
    assert kept.version.number == 1
