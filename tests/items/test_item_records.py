"""Keeping the catalogue: the basic directory, implementation lists under the province's locks, bundles,
review and publication, versions, and who may do what (issue #5 items 1-3)."""

from __future__ import annotations

import copy

import pytest
from items_world import (
    CLINIC,
    CLINIC_ELEMENTS,
    FOOD,
    PERMIT_ELEMENTS,
    build_items_world,
    claim,
    publish,
    publish_basic,
    reviewer_of,
)

from wanshi.bootstrap import Platform
from wanshi.items import api as items
from wanshi.items.services.reading import RecordQuery, get_record, list_records
from wanshi.kernel.actor import ANONYMOUS, SYSTEM
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from worlds import World


@pytest.fixture
def world(platform: Platform) -> World:
    w = build_items_world(platform)
    publish_basic(platform, w, FOOD, PERMIT_ELEMENTS)
    return w


def _publish_claim(platform: Platform, world: World, body: str, changes: dict | None = None) -> items.Record:
    r = claim(platform, world, body, changes=changes)
    clerk = {"hf_market": "hf_clerk", "wh_market": "wh_clerk", "yaohai": "yh_clerk", "luyang": "ly_clerk"}[
        body
    ]
    publish(platform, r.id, world[clerk], world[reviewer_of(body)])
    with platform.uow() as uow:
        return get_record(uow, r.id, SYSTEM).record


def test_a_claimed_item_gets_its_implementation_code_and_is_published_after_review(
    platform: Platform, world: World
) -> None:
    r = _publish_claim(platform, world, "hf_market", {"promised_limit": {"value": 5}, "visits": 0})
    assert r.code == f"{FOOD}-340100000000-000-11340100MB00000513-1-00"
    assert r.state is items.RecordState.PUBLISHED
    assert r.published_version == 1
    with platform.reader() as uow:
        snapshot = platform.items.snapshot(uow, ANONYMOUS)
    card = snapshot.items[r.code]
    assert card.elements.promised_limit.value == 5
    assert card.elements.visits == 0
    assert card.organisation_name == "合肥市市场监督管理局"
    assert card.division_name == "合肥市"
    # Locked elements come from the province unchanged.
    assert card.elements.conditions == tuple(PERMIT_ELEMENTS["conditions"])


@pytest.mark.parametrize(
    ("changes", "element"),
    [
        ({"conditions": ["另加一条本地条件"]}, "conditions"),
        ({"promised_limit": {"value": 15}}, "promised_limit"),
        ({"legal_limit": {"value": 30}}, "legal_limit"),
        ({"online_depth": 2}, "online_depth"),
        ({"materials": [{"name": "本地额外材料"}]}, "materials"),
        ({"fees": [{"name": "工本费", "standard": "10元"}], "charged": True}, "charged"),
    ],
)
def test_a_local_list_cannot_change_what_the_province_locks(
    platform: Platform, world: World, changes: dict, element: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        claim(platform, world, "hf_market", changes=changes)
    assert caught.value.error_code == "item_locked_element"
    assert element in caught.value.details["elements"]
    assert "省级基本目录" in caught.value.message


def test_a_province_may_loosen_an_element_for_its_item(platform: Platform, world: World) -> None:
    publish_basic(platform, world, CLINIC, CLINIC_ELEMENTS, adjust={"conditions": "free"})
    r = claim(platform, world, "wh_market", CLINIC, {"conditions": ["芜湖市另行规定的条件"]})
    assert r.state is items.RecordState.DRAFT


def test_an_edit_that_breaks_a_lock_is_refused_and_the_draft_is_kept(
    platform: Platform, world: World
) -> None:
    r = claim(platform, world, "yaohai")
    with platform.uow() as uow:
        detail = get_record(uow, r.id, world["yh_clerk"])
    document = copy.deepcopy(detail.shown.document)  # type: ignore[union-attr]
    document["elements"]["legal_limit"] = {"value": 60, "unit": "workday", "note": ""}
    with platform.uow() as uow, pytest.raises(ValidationFailed) as caught:
        items.edit_version(
            uow, items.EditVersion(record_id=r.id, lock=r.lock, document=document), world["yh_clerk"]
        )
    assert caught.value.error_code == "item_locked_element"
    with platform.uow() as uow:
        again = get_record(uow, r.id, world["yh_clerk"])
    assert again.shown.document == detail.shown.document  # type: ignore[union-attr]


def test_a_stale_edit_is_a_visible_conflict(platform: Platform, world: World) -> None:
    r = claim(platform, world, "yaohai")
    with platform.uow() as uow:
        document = copy.deepcopy(get_record(uow, r.id, world["yh_clerk"]).shown.document)  # type: ignore[union-attr]
    document["elements"]["consult"] = "0551-12345"
    with platform.uow() as uow:
        items.edit_version(
            uow, items.EditVersion(record_id=r.id, lock=r.lock, document=document), world["yh_clerk"]
        )
    document["elements"]["consult"] = "0551-66666666"
    with platform.uow() as uow, pytest.raises(Conflict) as caught:
        items.edit_version(
            uow, items.EditVersion(record_id=r.id, lock=r.lock, document=document), world["yh_clerk"]
        )
    assert caught.value.error_code == "item_changed"


def test_when_the_province_changes_a_locked_element_every_local_list_follows_in_a_new_draft(
    platform: Platform, world: World
) -> None:
    hefei = _publish_claim(platform, world, "hf_market", {"promised_limit": {"value": 5}})
    basic = _basic(platform)
    with platform.uow() as uow:
        started = items.start_version(
            uow, items.Transition(record_id=basic.id, lock=basic.lock), world["market_clerk"]
        )
    changed = {**PERMIT_ELEMENTS, "conditions": [*PERMIT_ELEMENTS["conditions"], "依法需要的其他条件"]}
    with platform.uow() as uow:
        items.edit_version(
            uow,
            items.EditVersion(record_id=basic.id, lock=started.lock, document={"elements": changed}),
            world["market_clerk"],
        )
    publish(platform, basic.id, world["market_clerk"], world["prov_admin"])
    with platform.uow() as uow:
        detail = get_record(uow, hefei.id, world["hf_clerk"])
    assert detail.record.published_version == 1
    assert detail.record.working_version == 2
    draft = detail.version(2)
    assert draft is not None
    assert draft.status is items.VersionStatus.DRAFT
    assert draft.document["elements"]["conditions"][-1] == "依法需要的其他条件"
    # The locality's own particulars stay.
    assert draft.document["elements"]["promised_limit"]["value"] == 5
    assert detail.history[-1].kind.value == "province_changed"
    assert [c.key for c in detail.pending] == ["conditions"]


def test_staff_of_one_county_cannot_claim_or_see_drafts_for_another(platform: Platform, world: World) -> None:
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        items.claim_item(
            uow,
            items.ClaimItem(
                basic_code=FOOD, organisation_id=world.org_id("luyang"), body_code="11340103MB00000861"
            ),
            world["yh_clerk"],
        )
    draft = claim(platform, world, "luyang")
    with platform.uow() as uow, pytest.raises(NotFound):
        get_record(uow, draft.id, world["yh_clerk"])
    with platform.uow() as uow:
        page = list_records(uow, RecordQuery(kind=items.RecordKind.IMPLEMENTATION), world["yh_clerk"])
    assert draft.id not in [r.id for r in page.records]


def test_only_the_bureau_over_a_division_publishes_its_items(platform: Platform, world: World) -> None:
    r = claim(platform, world, "wh_market")
    with platform.uow() as uow:
        submitted = items.submit_version(
            uow, items.Transition(record_id=r.id, lock=r.lock), world["wh_clerk"]
        )
    for outsider in ("city_admin", "wh_clerk"):
        with platform.uow() as uow, pytest.raises((PermissionDenied, NotFound)):
            items.review_version(
                uow, items.Review(record_id=r.id, lock=submitted.lock, publish=True), world[outsider]
            )
    with platform.uow() as uow:
        returned = items.review_version(
            uow,
            items.Review(record_id=r.id, lock=submitted.lock, publish=False, note="请补充办理地点"),
            world["prov_admin"],
        )
    assert returned.state is items.RecordState.RETURNED


def test_a_return_needs_a_reason(platform: Platform, world: World) -> None:
    r = claim(platform, world, "wh_market")
    with platform.uow() as uow:
        submitted = items.submit_version(
            uow, items.Transition(record_id=r.id, lock=r.lock), world["wh_clerk"]
        )
    with platform.uow() as uow, pytest.raises(ValidationFailed) as caught:
        items.review_version(
            uow, items.Review(record_id=r.id, lock=submitted.lock, publish=False), world["prov_admin"]
        )
    assert caught.value.error_code == "item_reason_required"


def test_a_basic_entry_with_live_local_lists_cannot_be_withdrawn(platform: Platform, world: World) -> None:
    _publish_claim(platform, world, "hf_market")
    basic = _basic(platform)
    with platform.uow() as uow, pytest.raises(Conflict) as caught:
        items.withdraw_record(
            uow, items.Transition(record_id=basic.id, lock=basic.lock, note="法律废止"), world["prov_admin"]
        )
    assert caught.value.error_code == "item_still_implemented"


def test_a_department_cannot_propose_basic_entries_outside_the_province_level(
    platform: Platform, world: World
) -> None:
    with platform.uow() as uow, pytest.raises(ValidationFailed) as caught:
        items.propose_basic(
            uow,
            items.ProposeBasic(
                code="340A0109000000",
                department_id=world.org_id("hf_market"),
                document={"elements": PERMIT_ELEMENTS},
            ),
            world["hf_clerk"],
        )
    assert caught.value.error_code == "item_department_not_provincial"


def test_a_bundle_merges_its_items_into_one_form_and_one_set_of_materials(
    platform: Platform, world: World
) -> None:
    publish_basic(platform, world, CLINIC, CLINIC_ELEMENTS)
    _publish_claim(platform, world, "hf_market")
    clinic = claim(platform, world, "hf_market", CLINIC)
    publish(platform, clinic.id, world["hf_clerk"], world["city_admin"])
    document = {
        "name": "开餐馆一件事",
        "audience": "法人",
        "life_event": "开办企业",
        "parts": [{"basic_code": FOOD}, {"basic_code": CLINIC}],
        "promised_days": 10,
    }
    with platform.uow() as uow:
        bundle = items.compile_bundle(
            uow,
            items.CompileBundle(
                code="BIZ-001",
                division_code="340100",
                organisation_id=world.org_id("city"),
                document=document,
            ),
            world["city_admin"],
        )
    publish(platform, bundle.id, world["city_admin"], world["city_admin"])
    with platform.reader() as uow:
        snapshot = platform.items.snapshot(uow, ANONYMOUS)
    application = items.bundle_application(snapshot, "BIZ-001", "340102")
    assert [c.elements.name for c in application.items] == ["食品经营许可证核发", "公共场所卫生许可"]
    assert application.missing == []
    # 营业执照 asked by both items is one material; enterprise_name asked by both is one field.
    names = [m.name for m in application.materials]
    assert names.count("营业执照") == 1
    assert len(names) == 6
    assert application.material_items["营业执照"] == ["食品经营许可证核发", "公共场所卫生许可"]
    assert [f.key for f in application.fields] == ["enterprise_name", "address", "contact_phone", "area"]
    # Wuhu has no implementation of either item: the application says so instead of inventing one.
    assert items.bundle_application(snapshot, "BIZ-001", "340202").missing == [FOOD, CLINIC]


def test_a_bundle_for_persons_cannot_hold_an_enterprise_only_item(platform: Platform, world: World) -> None:
    publish_basic(platform, world, CLINIC, {**CLINIC_ELEMENTS, "audience": ["法人"]})
    document = {
        "name": "出生一件事",
        "audience": "自然人",
        "life_event": "出生",
        "parts": [{"basic_code": FOOD}, {"basic_code": CLINIC}],
    }
    with platform.uow() as uow, pytest.raises(ValidationFailed) as caught:
        items.compile_bundle(
            uow,
            items.CompileBundle(
                code="LIFE-001",
                division_code="340000",
                organisation_id=world.org_id("bureau"),
                document=document,
            ),
            world["prov_admin"],
        )
    assert caught.value.error_code == "bundle_audience_mismatch"


def test_the_snapshot_follows_publication_and_withdrawal(platform: Platform, world: World) -> None:
    with platform.reader() as uow:
        before = platform.items.snapshot(uow, ANONYMOUS)
    assert FOOD in before.basics
    assert not before.items
    r = _publish_claim(platform, world, "wh_market")
    with platform.reader() as uow:
        after = platform.items.snapshot(uow, ANONYMOUS)
    assert r.code in after.items
    assert after.mark > before.mark
    with platform.uow() as uow:
        items.withdraw_record(
            uow, items.Transition(record_id=r.id, lock=r.lock, note="职能调整"), world["prov_admin"]
        )
    with platform.reader() as uow:
        assert r.code not in platform.items.snapshot(uow, ANONYMOUS).items


def _basic(platform: Platform) -> items.Record:
    with platform.uow() as uow:
        page = list_records(uow, RecordQuery(kind=items.RecordKind.BASIC, basic_code=FOOD), SYSTEM)
    return page.records[0]


def test_the_snapshot_reads_again_only_what_changed_and_follows_a_new_version(
    platform: Platform, world: World
) -> None:
    first = _publish_claim(platform, world, "wh_market")
    with platform.reader() as uow:
        before = platform.items.snapshot(uow, ANONYMOUS)
    kept = before.items[first.code]
    second = _publish_claim(platform, world, "hf_market", {"promised_limit": {"value": 5}})
    with platform.uow() as uow:
        started = items.start_version(
            uow, items.Transition(record_id=second.id, lock=second.lock), world["hf_clerk"]
        )
    publish(platform, started.id, world["hf_clerk"], world["city_admin"])
    with platform.reader() as uow:
        after = platform.items.snapshot(uow, ANONYMOUS)
    assert after.items[first.code] is kept  # not read again
    assert after.items[second.code].version == 2
    assert sorted(c.code for c in after.by_basic[FOOD]) == sorted([first.code, second.code])


def test_prefill_sources_are_the_fields_the_registries_offer() -> None:
    from wanshi.datahub.registry import api as registry
    from wanshi.items.domain import elements

    assert elements.PERSON_FIELDS == registry.PERSON_FIELDS
    assert elements.ENTERPRISE_FIELDS == registry.ENTERPRISE_FIELDS


@pytest.mark.parametrize("code", ["٣٤٠A0101000000", "340A010100000", "340A01010000X0"])
def test_a_basic_code_must_be_ascii_digits_and_capitals(code: str) -> None:
    from wanshi.items.domain.codes import check_basic_code

    with pytest.raises(ValidationFailed) as caught:
        check_basic_code(code)
    assert caught.value.error_code == "item_code_invalid"


def test_an_element_error_reads_in_chinese_with_its_bound() -> None:
    from wanshi.items.domain.elements import parse_elements

    with pytest.raises(ValidationFailed) as caught:
        parse_elements({**PERMIT_ELEMENTS, "visits": 99})
    assert "到办事现场次数：不得大于 10" in caught.value.message
