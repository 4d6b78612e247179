"""The base-registry services over generated population and legal-person datasets in a temporary store."""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from test_registry_world import World, build_world, entity_rows, person_rows

from wanshi.bootstrap import Platform
from wanshi.datahub.registry import api as registry
from wanshi.datahub.registry.tables import call
from wanshi.infra.tables import audit_entry
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind
from wanshi.kernel.errors import NotFound, PermissionDenied, ValidationFailed
from wanshi.kernel.identifiers import generate_resident_id, resident_id_check_char

PURPOSE = "不动产登记申请身份核验"


@pytest.fixture
def world(platform: Platform) -> World:
    return build_world(platform)


def _calls(platform: Platform) -> list[Any]:
    with platform.engine.connect() as conn:
        return list(conn.execute(select(call).order_by(call.c.id)).all())


def _verify(
    platform: Platform, world: World, actor: str, id_number: str, name: str
) -> registry.PersonVerification:
    with platform.uow() as uow:
        return registry.verify_person(
            uow,
            world.registry,
            registry.VerifyPerson(id_number=id_number, name=name, purpose=PURPOSE),
            world[actor],
        )


def _person(platform: Platform) -> dict[str, Any]:
    return next(r for r in person_rows(platform) if r["defect"] is None)


def _wrong_check(number: str) -> str:
    right = resident_id_check_char(number[:17])
    return number[:17] + ("1" if right != "1" else "2")


# --- verify a person --------------------------------------------------------------------------------------
def test_verify_person_match_mismatch_not_found_invalid(platform: Platform, world: World) -> None:
    person = _person(platform)
    number, name = str(person["id_number"]), str(person["name"])

    ok = _verify(platform, world, "police_clerk", number, name)
    assert (ok.result, ok.ok, ok.matched, ok.message) == (registry.Result.MATCH, True, True, "身份信息一致")
    assert ok.subject == number[:4] + "*" * 10 + number[-4:]
    assert ok.as_of is not None

    wrong_name = _verify(platform, world, "police_clerk", number, name + "某")
    assert (wrong_name.result, wrong_name.ok) == (registry.Result.NAME_MISMATCH, False)
    assert wrong_name.message == "姓名与身份证号码不一致"

    unknown = generate_resident_id("340102", clock.today_in_china().replace(year=1950), 999)
    missing = _verify(platform, world, "police_clerk", unknown, name)
    assert missing.result is registry.Result.NOT_FOUND
    assert missing.message == "人口库中没有该身份证号码"

    invalid = _verify(platform, world, "police_clerk", _wrong_check(number), name)
    assert invalid.result is registry.Result.ID_INVALID
    assert "校验码错误" in invalid.message

    rows = _calls(platform)
    assert [r.result for r in rows] == ["match", "name_mismatch", "not_found", "id_invalid"]
    assert {r.operation for r in rows} == {"verify_person"}
    assert rows[0].subject_hash == rows[1].subject_hash != rows[2].subject_hash
    assert rows[0].organisation_id == world.org_id("police")
    assert rows[0].purpose == PURPOSE
    assert all(r.duration_ms >= 0 for r in rows)


def test_full_width_input_and_spacing_still_match(platform: Platform, world: World) -> None:
    person = _person(platform)
    number = str(person["id_number"])
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number)
    name = " ".join(str(person["name"]))
    assert _verify(platform, world, "police_clerk", full_width, name).result is registry.Result.MATCH


def test_the_full_number_never_reaches_the_log_or_the_application_logs(
    platform: Platform, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    person = _person(platform)
    number = str(person["id_number"])
    with caplog.at_level(logging.DEBUG):
        _verify(platform, world, "police_clerk", number, str(person["name"]))
        with pytest.raises(PermissionDenied):
            _verify(platform, world, "yh_clerk", number, str(person["name"]))
    rows = _calls(platform)
    assert len(rows) == 2
    for row in rows:
        text = " ".join(str(v) for v in row)
        assert number not in text
        assert number[4:14] not in text
        assert str(person["name"]) not in text
        assert row.subject_masked == number[:4] + "**********" + number[-4:]
    assert number not in caplog.text
    with platform.engine.connect() as conn:
        audit_rows = conn.execute(select(audit_entry)).all()
    assert all(number not in " ".join(str(v) for v in row) for row in audit_rows)


def test_a_dead_or_cancelled_person_is_reported_when_the_data_has_a_status(
    platform: Platform, world: World
) -> None:
    dead = generate_resident_id("340102", clock.today_in_china().replace(year=1930, month=5, day=5), 11)
    gone = generate_resident_id("340103", clock.today_in_china().replace(year=1931, month=6, day=6), 12)
    platform.datastore.write_batch(
        "population",
        "status",
        pa.table(
            {
                "record_id": pa.array([90_001, 90_002], pa.int64()),
                "id_number": [dead, gone],
                "name": ["张三", "李四"],
                "status": ["死亡", "户籍注销"],
            }
        ),
    )
    with platform.uow() as uow:
        registry.reindex(uow, world.registry, SYSTEM, (registry.Kind.PERSON,))
    answer = _verify(platform, world, "police_clerk", dead, "张三")
    assert (answer.result, answer.matched, answer.ok) == (registry.Result.DECEASED, True, False)
    assert answer.status == "死亡"
    assert _verify(platform, world, "police_clerk", gone, "李四").result is registry.Result.CANCELLED
    assert _verify(platform, world, "police_clerk", gone, "王五").result is registry.Result.NAME_MISMATCH


def test_a_number_loaded_twice_answers_from_the_newest_load(platform: Platform, world: World) -> None:
    person = _person(platform)
    number = str(person["id_number"])
    platform.datastore.write_batch(
        "population",
        "zz-correction",
        pa.table({"record_id": pa.array([99_999], pa.int64()), "id_number": [number], "name": ["更正名"]}),
    )
    with platform.uow() as uow:
        (built,) = registry.reindex(uow, world.registry, SYSTEM, (registry.Kind.PERSON,))
    assert built.duplicates >= 1
    assert _verify(platform, world, "police_clerk", number, "更正名").result is registry.Result.MATCH


# --- verify an enterprise ---------------------------------------------------------------------------------
def _verify_entity(
    platform: Platform, world: World, actor: str, code: str, name: str, rep: str | None = None
) -> registry.EnterpriseVerification:
    with platform.uow() as uow:
        return registry.verify_enterprise(
            uow,
            world.registry,
            registry.VerifyEnterprise(credit_code=code, name=name, legal_representative=rep, purpose=PURPOSE),
            world[actor],
        )


def test_verify_enterprise_results_and_status(platform: Platform, world: World) -> None:
    rows = [r for r in entity_rows(platform) if r["defect"] is None]
    active = next(r for r in rows if r["status"] == "存续")
    ok = _verify_entity(
        platform, world, "ly_clerk", active["credit_code"], active["name"], active["legal_rep_name"]
    )
    assert (ok.result, ok.ok, ok.status) == (registry.Result.MATCH, True, "存续")
    assert ok.message == "主体信息一致（登记状态：存续）"

    assert (
        _verify_entity(platform, world, "ly_clerk", active["credit_code"], active["name"] + "分公司").result
        is registry.Result.NAME_MISMATCH
    )
    assert (
        _verify_entity(platform, world, "ly_clerk", active["credit_code"], active["name"], "某某某").result
        is registry.Result.LEGAL_REP_MISMATCH
    )
    for status, result in (("注销", registry.Result.DEREGISTERED), ("吊销", registry.Result.REVOKED)):
        entity = next(r for r in rows if r["status"] == status)
        answer = _verify_entity(platform, world, "ly_clerk", entity["credit_code"], entity["name"])
        assert (answer.result, answer.matched, answer.ok) == (result, True, False)
    code = str(active["credit_code"])
    broken = code[:17] + ("0" if code[17] != "0" else "1")
    invalid = _verify_entity(platform, world, "ly_clerk", broken, active["name"])
    assert invalid.result is registry.Result.CODE_INVALID
    assert "统一社会信用代码" in invalid.message
    assert (
        _verify_entity(platform, world, "ly_clerk", "91110000600037341L", "无").result
        is registry.Result.NOT_FOUND
    )


# --- prefill ----------------------------------------------------------------------------------------------
def test_prefill_returns_only_the_fields_asked_for(platform: Platform, world: World) -> None:
    person = _person(platform)
    with platform.uow() as uow:
        filled = registry.person_prefill(
            uow,
            world.registry,
            registry.PersonPrefill(
                id_number=person["id_number"], fields=("name", "address"), purpose="户籍业务预填"
            ),
            world["police_clerk"],
        )
    assert filled.found
    assert dict(filled.values) == {"name": person["name"], "address": person["address"]}
    entity = entity_rows(platform)[0]
    with platform.uow() as uow:
        filled = registry.enterprise_prefill(
            uow,
            world.registry,
            registry.EnterprisePrefill(
                credit_code=entity["credit_code"], fields=("legal_rep_name", "status"), purpose="许可申请预填"
            ),
            world["ly_clerk"],
        )
    assert dict(filled.values) == {"legal_rep_name": entity["legal_rep_name"], "status": entity["status"]}
    assert [r.result for r in _calls(platform)] == ["found", "found"]


def test_prefill_refuses_fields_that_are_not_offered(platform: Platform, world: World) -> None:
    entity = entity_rows(platform)[0]
    with platform.uow() as uow, pytest.raises(ValidationFailed) as refused:
        registry.enterprise_prefill(
            uow,
            world.registry,
            registry.EnterprisePrefill(
                credit_code=entity["credit_code"],
                fields=("name", "legal_rep_id_number"),
                purpose="许可申请预填",
            ),
            world["ly_clerk"],
        )
    assert refused.value.error_code == "registry_field_not_allowed"
    assert "legal_rep_id_number" in refused.value.message
    assert [r.result for r in _calls(platform)] == ["refused"]


def test_prefill_of_an_unknown_number_finds_nothing_and_of_an_invalid_one_is_refused(
    platform: Platform, world: World
) -> None:
    unknown = generate_resident_id("340102", clock.today_in_china().replace(year=1950), 997)
    with platform.uow() as uow:
        nothing = registry.person_prefill(
            uow,
            world.registry,
            registry.PersonPrefill(id_number=unknown, fields=("name",), purpose="预填"),
            SYSTEM,
        )
    assert (nothing.found, dict(nothing.values)) == (False, {})
    with platform.uow() as uow, pytest.raises(ValidationFailed) as invalid:
        registry.person_prefill(
            uow,
            world.registry,
            registry.PersonPrefill(id_number="3401", fields=("name",), purpose="预填"),
            SYSTEM,
        )
    assert invalid.value.error_code == "registry_subject_invalid"
    assert "18位" in invalid.value.message
    assert [r.result for r in _calls(platform)] == ["not_found", "id_invalid"]


def test_purpose_is_required_and_bounded() -> None:
    with pytest.raises(ValidationError):
        registry.VerifyPerson(id_number="34052419800101001X", name="张三", purpose=" ")
    with pytest.raises(ValidationError):
        registry.VerifyPerson(id_number="34052419800101001X", name="张三", purpose="用" * 201)


# --- authorisation ----------------------------------------------------------------------------------------
def test_departments_call_only_what_the_bureau_granted_them(platform: Platform, world: World) -> None:
    person = _person(platform)
    with pytest.raises(PermissionDenied):
        _verify(platform, world, "yh_clerk", person["id_number"], person["name"])
    with pytest.raises(PermissionDenied):  # luyang holds the legal-person functions only
        _verify(platform, world, "ly_clerk", person["id_number"], person["name"])
    entity = entity_rows(platform)[0]
    with pytest.raises(PermissionDenied):
        _verify_entity(platform, world, "police_clerk", entity["credit_code"], entity["name"])
    assert _verify(platform, world, "prov_admin", person["id_number"], person["name"]).ok
    rows = _calls(platform)
    assert [r.result for r in rows] == ["denied", "denied", "denied", "match"]
    with platform.engine.connect() as conn:
        denied = conn.execute(select(audit_entry).where(audit_entry.c.outcome == "denied")).all()
    assert {d.action for d in denied} == {"registry.verify_person", "registry.verify_enterprise"}

    with platform.uow() as uow:
        registry.revoke_registry(
            uow, registry.RevokeRegistry(organisation_id=world.org_id("police")), world["prov_admin"]
        )
    with pytest.raises(PermissionDenied):
        _verify(platform, world, "police_clerk", person["id_number"], person["name"])


def test_only_the_bureau_grants(platform: Platform, world: World) -> None:
    for actor in ("ly_head", "auditor", "police_clerk"):
        with platform.uow() as uow, pytest.raises(PermissionDenied):
            registry.grant_registry(
                uow,
                registry.GrantRegistry(
                    organisation_id=world.org_id("yaohai"), operations=(registry.Operation.VERIFY_PERSON,)
                ),
                world[actor],
            )
    with platform.uow() as uow:
        grants = registry.list_grants(uow, world["prov_admin"])
    assert {g.organisation_name for g in grants} == {"安徽省公安厅", "庐阳区市场监督管理局"}


def test_a_citizen_prefills_only_their_own_record(platform: Platform, world: World) -> None:
    person, other = [r for r in person_rows(platform) if r["defect"] is None][:2]
    citizen = Actor(kind=ActorKind.CITIZEN, username="citizen-1")
    command = registry.PersonPrefill(
        id_number=person["id_number"], fields=("address",), purpose="本人办事预填"
    )
    with platform.uow() as uow:
        own = registry.person_prefill(
            uow, world.registry, command, citizen, own_id_number=person["id_number"]
        )
    assert own.values == {"address": person["address"]}
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        registry.person_prefill(uow, world.registry, command, citizen, own_id_number=other["id_number"])
    with platform.uow() as uow, pytest.raises(PermissionDenied):  # no verified number (identity #4): refused
        registry.person_prefill(uow, world.registry, command, citizen)
    with platform.uow() as uow, pytest.raises(PermissionDenied):  # citizens never verify others
        registry.verify_person(
            uow,
            world.registry,
            registry.VerifyPerson(id_number=person["id_number"], name=person["name"], purpose=PURPOSE),
            citizen,
        )
    assert registry.citizen_may_prefill_own(citizen, "X", "X")
    assert not registry.citizen_may_prefill_own(world["police_clerk"], "X", "X")


# --- the call log -----------------------------------------------------------------------------------------
def test_the_call_log_is_seen_by_auditors_and_the_bureau_and_departments_see_their_own(
    platform: Platform, world: World
) -> None:
    person = _person(platform)
    entity = entity_rows(platform)[0]
    _verify(platform, world, "police_clerk", person["id_number"], person["name"])
    _verify_entity(platform, world, "ly_clerk", entity["credit_code"], entity["name"])

    def seen(actor: str, **query: Any) -> list[str]:
        with platform.uow() as uow:
            page = registry.search_calls(uow, registry.CallQuery(**query), world[actor])
        return [r.operation for r in page.items]

    assert sorted(seen("auditor")) == ["verify_enterprise", "verify_person"]
    assert sorted(seen("prov_admin")) == ["verify_enterprise", "verify_person"]
    assert seen("police_head") == ["verify_person"]
    assert seen("ly_head") == ["verify_enterprise"]
    assert seen("auditor", operation=registry.Operation.VERIFY_PERSON) == ["verify_person"]
    assert seen("auditor", organisation_id=world.org_id("luyang")) == ["verify_enterprise"]
    today = clock.today_in_china()
    assert len(seen("auditor", since=today, until=today)) == 2
    assert seen("auditor", until=today.replace(year=today.year - 1)) == []
    for actor in ("yh_clerk", "ly_clerk"):
        with platform.uow() as uow, pytest.raises(PermissionDenied):
            registry.search_calls(uow, registry.CallQuery(), world[actor])


# --- the index --------------------------------------------------------------------------------------------
def test_index_staleness_and_rebuild(platform: Platform, world: World) -> None:
    with platform.uow() as uow:
        before = {s.kind: s for s in registry.index_status(uow, world.registry, SYSTEM)}
    assert not before[registry.Kind.PERSON].stale
    assert before[registry.Kind.PERSON].rows > 0
    newcomer = generate_resident_id("340104", clock.today_in_china().replace(year=1990, month=2, day=3), 21)
    platform.datastore.write_batch(
        "population",
        "new-load",
        pa.table({"record_id": pa.array([80_000], pa.int64()), "id_number": [newcomer], "name": ["新来人"]}),
    )
    with platform.uow() as uow:
        after = {s.kind: s for s in registry.index_status(uow, world.registry, SYSTEM)}
    assert after[registry.Kind.PERSON].stale
    assert not after[registry.Kind.ENTERPRISE].stale
    assert _verify(platform, world, "police_clerk", newcomer, "新来人").result is registry.Result.NOT_FOUND
    with platform.uow() as uow:
        rebuilt = registry.reindex(uow, world.registry, SYSTEM, only_stale=True)
    assert [s.kind for s in rebuilt] == [registry.Kind.PERSON]
    assert rebuilt[0].rows == before[registry.Kind.PERSON].rows + 1
    assert _verify(platform, world, "police_clerk", newcomer, "新来人").ok
    with platform.uow() as uow:
        assert not any(s.stale for s in registry.index_status(uow, world.registry, SYSTEM))


def test_a_replaced_batch_with_the_same_rows_count_makes_the_index_stale(
    platform: Platform, world: World
) -> None:
    table = platform.datastore.query("SELECT * EXCLUDE (batch) FROM population")
    platform.datastore.write_batch("population", "t-00000", table)
    with platform.uow() as uow:
        (person, _enterprise) = registry.index_status(uow, world.registry, SYSTEM)
    assert person.stale


def test_reindex_is_for_the_system_and_the_provincial_bureau(platform: Platform, world: World) -> None:
    for actor in ("police_head", "auditor", "ly_clerk"):
        with platform.uow() as uow, pytest.raises(PermissionDenied):
            registry.reindex(uow, world.registry, world[actor])
    with platform.uow() as uow:
        assert len(registry.reindex(uow, world.registry, world["prov_admin"])) == 2


def test_without_an_index_calls_fail_clearly_and_are_logged(platform: Platform) -> None:
    world = build_world(platform, index=False)
    person = _person(platform)
    with pytest.raises(registry.IndexUnavailable) as missing:
        _verify(platform, world, "police_clerk", person["id_number"], person["name"])
    assert missing.value.error_code == "registry_index_missing"
    assert "wanshi registry reindex" in missing.value.message
    assert [r.result for r in _calls(platform)] == ["unavailable"]
    with platform.uow() as uow:
        statuses = registry.index_status(uow, world.registry, SYSTEM)
    assert all(s.stale and not s.built for s in statuses)


def test_reindex_of_a_missing_dataset_is_refused(platform: Platform, world: World) -> None:
    other = registry.Registry(
        platform.datastore, world.registry.persons.folder, "k" * 40, population_dataset="nobody"
    )
    with platform.uow() as uow, pytest.raises(NotFound) as refused:
        registry.reindex(uow, other, SYSTEM, (registry.Kind.PERSON,))
    assert refused.value.error_code == "registry_dataset_missing"
    assert "nobody" in refused.value.message


# --- e-licences and credit --------------------------------------------------------------------------------
def test_elicence_and_credit_are_empty_until_their_datasets_exist(platform: Platform, world: World) -> None:
    entity = entity_rows(platform)[0]
    code = str(entity["credit_code"])
    with platform.uow() as uow:
        found = registry.find_licences(
            uow, world.registry, registry.LicenceQuery(holder_code=code, purpose="证照免提交"), SYSTEM
        )
    assert found.licences == ()
    platform.datastore.write_batch(
        registry.ELICENCE_DATASET,
        "b1",
        pa.table(
            {
                "holder_code": [code, "91110000600037341L"],
                "licence_id": ["1.2.156.3005.2.x", "1.2.156.3005.2.y"],
                "licence_name": ["营业执照", "营业执照"],
                "issuer": ["庐阳区市场监督管理局", "北京"],
            }
        ),
    )
    platform.datastore.write_batch(
        registry.CREDIT_DATASET,
        "b1",
        pa.table({"subject_code": [code], "record_type": ["守信激励"], "title": ["A级纳税人"]}),
    )
    with platform.uow() as uow:
        found = registry.find_licences(
            uow, world.registry, registry.LicenceQuery(holder_code=code, purpose="证照免提交"), SYSTEM
        )
    assert [(x.licence_id, x.licence_name, x.status) for x in found.licences] == [
        ("1.2.156.3005.2.x", "营业执照", "")
    ]
    with platform.uow() as uow:
        credit = registry.credit_records(
            uow, world.registry, registry.CreditQuery(subject_code=code, purpose="评优审核"), SYSTEM
        )
    assert [(c.record_type, c.title) for c in credit.records] == [("守信激励", "A级纳税人")]
    assert [(r.operation, r.result) for r in _calls(platform)] == [
        ("elicence_lookup", "not_found"),
        ("elicence_lookup", "found"),
        ("credit_lookup", "found"),
    ]
    with platform.uow() as uow, pytest.raises(ValidationFailed):
        registry.credit_records(
            uow, world.registry, registry.CreditQuery(subject_code="123", purpose="评优审核"), SYSTEM
        )


def test_the_timer_rebuilds_stale_indexes_and_skips_absent_datasets(platform: Platform) -> None:
    world = build_world(platform, index=False)
    platform.datastore.delete_batch("legal_person", "t-00000")
    worker = platform.worker()
    worker.sync_schedules()
    worker.enqueue_due_schedules()
    worker.run_until_idle()
    with platform.uow() as uow:
        person, enterprise = registry.index_status(uow, world.registry, SYSTEM)
    assert (person.built, person.stale) == (True, False)
    assert (enterprise.built, enterprise.stale) == (False, True)
    with platform.engine.connect() as conn:
        rebuilt = conn.execute(select(audit_entry).where(audit_entry.c.action == "registry.reindex")).all()
    assert [r.object_id for r in rebuilt] == ["person"]


def test_a_failed_rebuild_leaves_the_old_index_answering(
    platform: Platform, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = _person(platform)
    index = world.registry.persons
    before = index.path.stat().st_ino

    def broken(*_args: Any) -> tuple[int, int]:
        raise OSError("disk full")

    monkeypatch.setattr(type(index), "_write", broken)
    with platform.uow() as uow, pytest.raises(OSError, match="disk full"):
        registry.reindex(uow, world.registry, SYSTEM, (registry.Kind.PERSON,))
    assert index.path.stat().st_ino == before
    assert not [p for p in index.folder.iterdir() if p.name.endswith(".tmp")]
    assert _verify(platform, world, "police_clerk", person["id_number"], person["name"]).ok
    monkeypatch.undo()
    with platform.uow() as uow:
        registry.reindex(uow, world.registry, SYSTEM, (registry.Kind.PERSON,))
    assert index.path.stat().st_ino != before
    assert _verify(platform, world, "police_clerk", person["id_number"], person["name"]).ok
