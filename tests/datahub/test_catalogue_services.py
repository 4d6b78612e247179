"""Catalogue use cases on the database: lifecycle, versions and diffs, permissions and tenancy, history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from test_catalogue_world import NOW, World, build_world, metadata, mount, publish, register

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.catalogue.tables import version
from wanshi.datahub.ingest import api as ingest
from wanshi.infra.tables import audit_entry, outbox_event
from wanshi.kernel import clock
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

CODE = "331007001/000001"


@pytest.fixture
def world(platform: Platform) -> Iterator[World]:
    previous = clock.set_clock(lambda: NOW)
    yield build_world(platform)
    clock.set_clock(previous)


def _detail(platform: Platform, world: World, actor: str, resource_id: int) -> catalogue.ResourceDetail:
    with platform.uow() as uow:
        return catalogue.get_resource(uow, resource_id, world[actor])


def _search(platform: Platform, world: World, actor: str, **filters: object) -> list[str]:
    with platform.uow() as uow:
        page = catalogue.search_resources(uow, catalogue.ResourceQuery(**filters), world[actor])
    return [v.resource.code for v in page.items]


def test_register_mount_submit_publish_with_history_audit_and_events(
    platform: Platform, world: World
) -> None:
    r = register(platform, world, "yh_clerk", "yaohai", CODE)
    assert r.state is catalogue.ResourceState.DRAFT
    assert r.division_code == "340102"
    assert r.provider_code == "11340102MB0000001D"
    with platform.uow() as uow, pytest.raises(Conflict) as caught:
        catalogue.submit_resource(uow, catalogue.SubmitResource(resource_id=r.id), world["yh_clerk"])
    assert caught.value.error_code == "catalogue_transition_refused"
    assert mount(platform, world, "yh_clerk", r.id).state is catalogue.ResourceState.MOUNTED
    with platform.uow() as uow:
        submitted = catalogue.submit_resource(
            uow, catalogue.SubmitResource(resource_id=r.id), world["yh_clerk"]
        )
    assert submitted.state is catalogue.ResourceState.SUBMITTED
    # The provider cannot publish its own resource; a county has no reviewing bureau.
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        catalogue.review_resource(
            uow, catalogue.ReviewResource(resource_id=r.id, publish=True), world["yh_clerk"]
        )
    with platform.uow() as uow, pytest.raises(ValidationFailed) as refused:
        catalogue.review_resource(
            uow, catalogue.ReviewResource(resource_id=r.id, publish=False), world["city_admin"]
        )
    assert refused.value.error_code == "catalogue_return_reason_required"
    with platform.uow() as uow:
        returned = catalogue.review_resource(
            uow,
            catalogue.ReviewResource(resource_id=r.id, publish=False, note="共享条件不明确"),
            world["city_admin"],
        )
    assert returned.state is catalogue.ResourceState.RETURNED
    with platform.uow() as uow:
        catalogue.update_draft(
            uow,
            catalogue.UpdateDraft(
                resource_id=r.id, **metadata(share_conditions="仅向市场监管、税务部门共享")
            ),
            world["yh_clerk"],
        )
    published = publish(platform, world, "yh_clerk", r.id)
    assert published.state is catalogue.ResourceState.PUBLISHED
    assert published.published_version == 1
    assert published.working_version is None
    detail = _detail(platform, world, "yh_clerk", r.id)
    assert detail.published is not None
    assert detail.published.metadata.release_date == clock.today_in_china()
    assert detail.published.reviewed_by == "prov_admin"
    assert [h.kind.value for h in detail.history] == [
        "registered",
        "mounted",
        "submitted",
        "returned",
        "updated",
        "submitted",
        "published",
    ]
    assert detail.history[3].note == "共享条件不明确"
    assert (detail.history[2].from_state, detail.history[2].to_state) == ("mounted", "submitted")
    with platform.uow() as uow:
        events = list(uow.session.execute(select(outbox_event.c.event_type)).scalars())
        audited = list(uow.session.execute(select(audit_entry.c.action)).scalars())
    assert events.count("catalogue.ResourcePublished") == 1
    assert "catalogue.ResourceReturned" in events
    assert "catalogue.resource.published" in audited
    assert audited.count("catalogue.resource.review") == 1  # the provider's refused attempt


def test_validation_refuses_bad_metadata(platform: Platform, world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        register(platform, world, "yh_clerk", "yaohai", CODE, share_conditions="")
    assert caught.value.error_code == "catalogue_share_conditions_required"
    with pytest.raises(ValidationFailed) as caught:
        register(platform, world, "yh_clerk", "yaohai", CODE, share_type=catalogue.ShareType.NONE)
    assert caught.value.error_code == "catalogue_share_basis_required"
    with pytest.raises(ValidationFailed) as caught:
        register(platform, world, "yh_clerk", "yaohai", "33100700/000001")
    assert caught.value.error_code == "catalogue_code_invalid"
    r = register(platform, world, "yh_clerk", "yaohai", CODE)
    with pytest.raises(Conflict) as taken:
        register(platform, world, "ly_clerk", "luyang", CODE)
    assert taken.value.error_code == "catalogue_code_taken"
    with platform.uow() as uow, pytest.raises(ValidationFailed) as secret:
        catalogue.mount_resource(
            uow,
            catalogue.MountResource(
                resource_id=r.id,
                kind=catalogue.MountKind.DATABASE,
                url="mysql+pymysql://reader:pw@10.0.0.8/market",
                query="select * from entity",
            ),
            world["yh_clerk"],
        )
    assert secret.value.error_code == "catalogue_mount_secret_in_clear"


def test_a_county_sees_its_own_drafts_not_a_siblings(platform: Platform, world: World) -> None:
    mine = register(platform, world, "yh_clerk", "yaohai", CODE)
    theirs = register(platform, world, "ly_clerk", "luyang", "331007001/000002", name="庐阳区市场主体")
    assert _search(platform, world, "yh_clerk") == [CODE]
    assert _search(platform, world, "ly_clerk") == ["331007001/000002"]
    assert _search(platform, world, "city_admin") == [CODE, "331007001/000002"]
    assert _search(platform, world, "police_clerk") == []
    with platform.uow() as uow, pytest.raises(NotFound):
        catalogue.get_resource(uow, theirs.id, world["yh_clerk"])
    with platform.uow() as uow, pytest.raises(NotFound):
        catalogue.mount_resource(
            uow,
            catalogue.MountResource(resource_id=theirs.id, kind=catalogue.MountKind.DATASET, dataset="x"),
            world["yh_clerk"],
        )
    # A county clerk cannot register for another county's department.
    with pytest.raises(PermissionDenied):
        register(platform, world, "yh_clerk", "luyang", "331007001/000003")
    publish(platform, world, "yh_clerk", mine.id)
    # Published: every staff member sees it, and may not change it.
    assert _search(platform, world, "ly_clerk") == [CODE, "331007001/000002"]
    assert _search(platform, world, "police_clerk") == [CODE]
    detail = _detail(platform, world, "ly_clerk", mine.id)
    assert detail.actions == frozenset()
    assert [h.kind.value for h in detail.history] == ["published"]
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        catalogue.start_version(uow, catalogue.StartVersion(resource_id=mine.id), world["ly_clerk"])


def test_search_filters(platform: Platform, world: World) -> None:
    register(platform, world, "police_clerk", "police", "101001001/000001", name="人口基础信息")
    register(
        platform,
        world,
        "yh_clerk",
        "yaohai",
        CODE,
        share_type=catalogue.ShareType.NONE,
        share_basis="《个人信息保护法》",
        open_type=catalogue.OpenType.NONE,
        open_conditions="",
    )
    admin = "prov_admin"
    assert _search(platform, world, admin, q="人口") == ["101001001/000001"]
    assert _search(platform, world, admin, q="3310") == [CODE]
    assert _search(platform, world, admin, top_class=catalogue.TopClass.BASIC) == ["101001001/000001"]
    assert _search(platform, world, admin, classification="331007") == [CODE]
    assert _search(platform, world, admin, share_type=catalogue.ShareType.NONE) == [CODE]
    assert _search(platform, world, admin, open_type=catalogue.OpenType.CONDITIONAL) == ["101001001/000001"]
    assert _search(platform, world, admin, provider_organisation_id=world.org_id("police")) == [
        "101001001/000001"
    ]
    assert _search(platform, world, admin, state=catalogue.ResourceState.DRAFT) == ["101001001/000001", CODE]


def test_new_version_keeps_readers_on_the_published_one_and_shows_the_diff(
    platform: Platform, world: World
) -> None:
    r = register(platform, world, "yh_clerk", "yaohai", CODE)
    publish(platform, world, "yh_clerk", r.id)
    with platform.uow() as uow, pytest.raises(Conflict):
        catalogue.update_draft(uow, catalogue.UpdateDraft(resource_id=r.id, **metadata()), world["yh_clerk"])
    with platform.uow() as uow:
        catalogue.start_version(uow, catalogue.StartVersion(resource_id=r.id), world["yh_clerk"])
    with platform.uow() as uow, pytest.raises(Conflict) as twice:
        catalogue.start_version(uow, catalogue.StartVersion(resource_id=r.id), world["yh_clerk"])
    assert twice.value.error_code == "catalogue_version_open"
    items = (
        catalogue.ItemSpec(name="uscc", label="统一社会信用代码", length=18, required=True),
        catalogue.ItemSpec(name="name", label="市场主体名称", length=200, required=True, grade="public"),
        catalogue.ItemSpec(name="status", label="登记状态", length=20),
    )
    with platform.uow() as uow:
        changed = catalogue.update_draft(
            uow,
            catalogue.UpdateDraft(resource_id=r.id, **metadata(name="市场主体登记信息（2026）", items=items)),
            world["yh_clerk"],
        )
    # Readers still see version 1, unchanged and under its own name, in search too.
    assert changed.state is catalogue.ResourceState.PUBLISHED
    reader = _detail(platform, world, "police_clerk", r.id)
    assert reader.view.version_number == 1
    assert reader.view.metadata.name == "市场主体登记信息"
    assert reader.working is None
    assert [v.number for v in reader.versions] == [1]
    assert _search(platform, world, "police_clerk", q="2026") == []
    with platform.uow() as uow:
        assert catalogue.resource_schema(uow, CODE).version_number == 1
    provider = _detail(platform, world, "yh_clerk", r.id)
    assert provider.working is not None
    assert provider.working.status is catalogue.VersionStatus.MOUNTED  # the mount came along
    assert provider.pending_diff is not None
    assert [c.key for c in provider.pending_diff.metadata] == ["name"]
    assert [i.name for i in provider.pending_diff.items_added] == ["status"]
    assert [i.name for i in provider.pending_diff.items_removed] == ["founded_on", "capital"]
    assert [c.name for c in provider.pending_diff.items_changed] == ["name"]
    assert provider.actions == frozenset({"update", "mount", "submit"})
    publish(platform, world, "yh_clerk", r.id)
    after = _detail(platform, world, "police_clerk", r.id)
    assert after.view.version_number == 2
    assert [(v.number, v.status.value) for v in after.versions] == [(1, "superseded"), (2, "published")]
    with platform.uow() as uow:
        schema = catalogue.resource_schema(uow, CODE)
        assert [
            f.name for f in catalogue.version_diff(uow, r.id, 1, 2, world["police_clerk"]).items_added
        ] == ["status"]
    assert schema.version_number == 2
    assert schema.as_dict()["fields"][0] == {
        "name": "uscc",
        "label": "统一社会信用代码",
        "type": "string",
        "required": True,
        "max_length": 18,
    }
    # The ingest pipeline reads the DTO as it is.
    assert ingest.parse_schema(schema.as_dict()).names == ("uscc", "name", "status")


def test_withdrawal_is_final_and_only_for_the_bureau(platform: Platform, world: World) -> None:
    r = register(platform, world, "yh_clerk", "yaohai", CODE)
    with platform.uow() as uow, pytest.raises(Conflict):
        catalogue.withdraw_resource(
            uow, catalogue.WithdrawResource(resource_id=r.id, reason="数据停止采集"), world["prov_admin"]
        )
    publish(platform, world, "yh_clerk", r.id)
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        catalogue.withdraw_resource(
            uow, catalogue.WithdrawResource(resource_id=r.id, reason="数据停止采集"), world["yh_clerk"]
        )
    with platform.uow() as uow:
        withdrawn = catalogue.withdraw_resource(
            uow, catalogue.WithdrawResource(resource_id=r.id, reason="数据停止采集"), world["city_admin"]
        )
    assert withdrawn.state is catalogue.ResourceState.WITHDRAWN
    with platform.uow() as uow, pytest.raises(Conflict):
        catalogue.start_version(uow, catalogue.StartVersion(resource_id=r.id), world["yh_clerk"])
    with platform.uow() as uow, pytest.raises(NotFound):
        catalogue.resource_schema(uow, CODE)
    detail = _detail(platform, world, "police_clerk", r.id)
    assert [h.kind.value for h in detail.history] == ["published", "withdrawn"]
    assert detail.history[-1].note == "数据停止采集"


def test_a_city_bureau_reviews_its_counties_but_not_the_province(platform: Platform, world: World) -> None:
    r = register(platform, world, "police_clerk", "police", "101001001/000001")
    mount(platform, world, "police_clerk", r.id)
    with platform.uow() as uow:
        catalogue.submit_resource(uow, catalogue.SubmitResource(resource_id=r.id), world["police_clerk"])
    with platform.uow() as uow, pytest.raises(NotFound):
        catalogue.review_resource(
            uow, catalogue.ReviewResource(resource_id=r.id, publish=True), world["city_admin"]
        )
    with platform.uow() as uow:
        done = catalogue.review_resource(
            uow, catalogue.ReviewResource(resource_id=r.id, publish=True), world["prov_admin"]
        )
    assert done.state is catalogue.ResourceState.PUBLISHED


def _items(scale: int | None) -> tuple[catalogue.ItemSpec, ...]:
    items: tuple[catalogue.ItemSpec, ...] = metadata()["items"]
    return tuple(
        i.model_copy(update={"scale": scale}) if i.data_type is catalogue.DataType.DECIMAL else i
        for i in items
    )


def _forget_scales(platform: Platform, resource_id: int) -> None:
    """Rewrite the stored versions as they were written before items had a scale."""
    with platform.uow() as uow:
        for number, stored in uow.session.execute(
            select(version.c.number, version.c.metadata).where(version.c.resource_id == resource_id)
        ):
            items = [{k: v for k, v in i.items() if k != "scale"} for i in stored["items"]]
            uow.session.execute(
                update(version)
                .where(version.c.resource_id == resource_id, version.c.number == number)
                .values(metadata={**stored, "items": items})
            )
        uow.session.commit()


def test_a_decimal_items_scale_reaches_the_ingest_schema(platform: Platform, world: World) -> None:
    r = register(platform, world, "yh_clerk", "yaohai", CODE, items=_items(4))
    publish(platform, world, "yh_clerk", r.id)
    with platform.uow() as uow:
        schema = catalogue.resource_schema(uow, CODE)
    assert {f.name: f.scale for f in schema.fields} == {
        "uscc": None,
        "name": None,
        "founded_on": None,
        "capital": 4,
    }
    fields = {f["name"]: f for f in schema.as_dict()["fields"]}
    assert fields["capital"]["scale"] == 4
    assert "scale" not in fields["uscc"]
    parsed = {f.name: f for f in ingest.parse_schema(schema.as_dict()).fields}
    assert parsed["capital"].scale == 4
    # A version stored before items had a scale hands ingest the two places it always applied.
    _forget_scales(platform, r.id)
    with platform.uow() as uow:
        old = catalogue.resource_schema(uow, CODE)
    assert [f.scale for f in old.fields if f.name == "capital"] == [2]
    assert ingest.parse_schema(old.as_dict()).fields[3].scale == 2


def test_a_changed_scale_is_a_new_version_with_its_diff_and_only_for_the_provider(
    platform: Platform, world: World
) -> None:
    r = register(platform, world, "yh_clerk", "yaohai", CODE)
    publish(platform, world, "yh_clerk", r.id)
    _forget_scales(platform, r.id)
    with platform.uow() as uow:
        catalogue.start_version(uow, catalogue.StartVersion(resource_id=r.id), world["yh_clerk"])
    change = catalogue.UpdateDraft(resource_id=r.id, **metadata(items=_items(4)))
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        catalogue.update_draft(uow, change, world["ly_clerk"])
    too_many = catalogue.UpdateDraft(resource_id=r.id, **metadata(items=_items(catalogue.MAX_SCALE + 1)))
    with platform.uow() as uow, pytest.raises(ValidationFailed) as caught:
        catalogue.update_draft(uow, too_many, world["yh_clerk"])
    assert caught.value.error_code == "catalogue_item_scale_invalid"
    assert caught.value.message == f"第 4 个信息项的小数位数须在 0–{catalogue.MAX_SCALE} 之间"
    not_decimal = catalogue.UpdateDraft(
        resource_id=r.id,
        **metadata(items=(catalogue.ItemSpec(name="uscc", label="统一社会信用代码", scale=2),)),
    )
    with platform.uow() as uow, pytest.raises(ValidationFailed) as refused:
        catalogue.update_draft(uow, not_decimal, world["yh_clerk"])
    assert refused.value.error_code == "catalogue_item_scale_not_decimal"
    with platform.uow() as uow:
        catalogue.update_draft(uow, change, world["yh_clerk"])
    pending = _detail(platform, world, "yh_clerk", r.id).pending_diff
    assert pending is not None
    assert [(c.name, [(x.key, x.before, x.after) for x in c.changes]) for c in pending.items_changed] == [
        ("capital", [("scale", 2, 4)])
    ]
    publish(platform, world, "yh_clerk", r.id)
    with platform.uow() as uow:
        assert [f.scale for f in catalogue.resource_schema(uow, CODE).fields if f.name == "capital"] == [4]
        shown = catalogue.version_diff(uow, r.id, 1, 2, world["police_clerk"])
    assert [c.name for c in shown.items_changed] == ["capital"]
