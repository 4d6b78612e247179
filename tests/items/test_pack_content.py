"""The Anhui pack's service items and bundles: every entry parses, every implementation stays within the
province's locks, and the catalogue covers what the reference pack promises. Pure: no database."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from wanshi.items.domain.codes import check_basic_code, check_bundle_code
from wanshi.items.domain.documents import BasicDocument, BundleDocument, ImplementationDocument
from wanshi.items.domain.elements import Audience, Elements, ItemType, parse_elements, parse_part
from wanshi.items.domain.locks import Adjust, LockedElementChanged, adjust_rules, check_local, derive
from wanshi.kernel.errors import ValidationFailed
from wanshi.org.domain import DivisionLevel, parse_division_table
from wanshi.org.services import bundled_division_table

PACK = Path(__file__).resolve().parents[2] / "packs" / "anhui"
CITIES = {"340100", "340200", "340300", "340400", "340500", "340600", "340700", "340800"} | {
    f"34{n}00" for n in range(10, 19)
}


@cache
def _yaml(name: str) -> Any:
    return yaml.safe_load((PACK / name).read_text(encoding="utf-8"))


def _items() -> dict[str, Any]:
    data: dict[str, Any] = _yaml("service_items.yaml")
    return data


@cache
def _basics() -> dict[str, BasicDocument]:
    out: dict[str, BasicDocument] = {}
    for entry in _items()["basic"]:
        code = check_basic_code(entry["code"])
        assert code not in out, f"基本编码 {code} 重复"
        out[code] = parse_part(
            BasicDocument, {"elements": entry["elements"], "adjust": entry.get("adjust", {})}
        )
    return out


@cache
def _organisations() -> dict[str, str]:
    """Every organisation name the pack's organisations.yaml produces, with its division code."""
    data = _yaml("organisations.yaml")
    names = {o["name"]: o["division_code"] for o in data["organisations"]}
    table = parse_division_table(bundled_division_table())
    levels = {"prefecture": DivisionLevel.PREFECTURE, "county": DivisionLevel.COUNTY}
    for pattern in data["counterparts"]:
        prefix = pattern["within"].rstrip("0")
        for division in table.divisions:
            if division.level is levels[pattern["level"]] and division.code.startswith(prefix):
                names[pattern["name"].format(division=division.name)] = division.code
    return names


def _local(entry: dict[str, Any]) -> tuple[Elements, ImplementationDocument]:
    basic = _basics()[entry["basic"]]
    elements = parse_elements(derive(basic.elements, entry.get("changes", {})))
    check_local(basic.elements, elements, adjust_rules(basic.adjust))
    document = parse_part(
        ImplementationDocument,
        {
            "elements": elements,
            "body_code": entry["body_code"],
            "body_nature": entry.get("body_nature", "法定机关"),
            "handling_no": entry.get("handling_no", 1),
            "business_no": entry.get("business_no", 0),
            "business_name": entry.get("business_name", ""),
        },
    )
    return elements, document


def test_basic_directory_covers_every_kind_of_item_both_audiences_and_many_departments() -> None:
    basics = _basics()
    assert len(basics) >= 90
    kinds = Counter(b.elements.item_type for b in basics.values())
    assert set(kinds) == set(ItemType), f"缺少事项类型：{set(ItemType) - set(kinds)}"
    audiences = Counter(a for b in basics.values() for a in b.elements.audience)
    assert min(audiences[Audience.PERSON], audiences[Audience.ENTERPRISE]) >= len(basics) * 0.4, audiences
    departments = {entry["department"] for entry in _items()["basic"]}
    assert len(departments) >= 15
    unknown = departments - {n for n, d in _organisations().items() if d == "340000"}
    assert not unknown, f"牵头部门不是省级组织：{unknown}"


def test_every_basic_entry_is_filled_as_a_guide_needs_it() -> None:
    thin = []
    for code, basic in _basics().items():
        e = basic.elements
        problems = [
            what
            for what, ok in (
                ("设定依据", e.basis and all(b.article for b in e.basis)),
                ("申请材料 3-10 项", 3 <= len(e.materials) <= 10),
                ("申请表字段 4-12 个", 4 <= len(e.fields) <= 12),
                ("办理流程 2-5 步", 2 <= len(e.process) <= 5),
                ("常见问题 1-3 条", 1 <= len(e.faq) <= 3),
                ("关键词 3-8 个", 3 <= len(e.keywords) <= 8),
                ("主题", bool(e.themes)),
                ("受理条件", bool(e.conditions)),
                ("行使层级", bool(e.level)),
                ("免提交材料", any(m.replaceable for m in e.materials)),
                ("免填报字段", any(f.prefill for f in e.fields)),
            )
            if not ok
        ]
        if problems:
            thin.append(f"{code} {e.name}：" + "、".join(problems))
    assert not thin, "\n".join(thin)


def test_basic_codes_follow_the_department_and_class_of_the_item() -> None:
    classes = {ItemType(t): c for t, c in zip([t.value for t in ItemType], "ABCDEFGHIJZ", strict=True)}
    wrong = [code for code, b in _basics().items() if code[3] != classes[b.elements.item_type]]
    assert not wrong
    prefixes: dict[str, set[str]] = {}
    for entry in _items()["basic"]:
        prefixes.setdefault(entry["code"][:3], set()).add(entry["department"])
    assert all(len(departments) == 1 for departments in prefixes.values()), prefixes


def test_every_implementation_parses_and_stays_within_the_locks() -> None:
    failures = []
    for index, entry in enumerate(_items()["implementations"], start=1):
        try:
            _local(entry)
        except ValidationFailed as exc:
            failures.append(f"第 {index} 项 {entry['basic']} {entry['organisation']}：{exc}")
    assert not failures, "\n".join(failures)


def test_implementations_cover_every_item_from_real_bodies_in_several_cities() -> None:
    implementations = _items()["implementations"]
    assert len(implementations) >= 150
    assert set(_basics()) <= {i["basic"] for i in implementations}, "有基本目录事项没有实施清单"
    organisations = _organisations()
    misplaced = [
        f"{i['organisation']}（{i['division_code']}）"
        for i in implementations
        if organisations.get(i["organisation"]) != i["division_code"]
    ]
    assert not misplaced, "组织不存在或区划不符：" + "、".join(sorted(set(misplaced)))
    divisions = {i["division_code"] for i in implementations}
    assert len(divisions & CITIES) >= 3
    assert len({d for d in divisions if d[4:] != "00"}) >= 2, "需要县区实施"


def test_one_credit_code_per_organisation_and_one_entry_per_handling_item() -> None:
    codes: dict[str, set[str]] = {}
    keys: Counter[tuple[str, str, int, int]] = Counter()
    for i in _items()["implementations"]:
        codes.setdefault(i["organisation"], set()).add(i["body_code"])
        keys[(i["basic"], i["body_code"], i.get("handling_no", 1), i.get("business_no", 0))] += 1
    assert all(len(c) == 1 for c in codes.values())
    assert len({next(iter(c)) for c in codes.values()}) == len(codes), "两个组织共用一个信用代码"
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]


def test_provincial_items_are_implemented_by_the_province() -> None:
    for i in _items()["implementations"]:
        if i["division_code"] == "340000":
            assert i["organisation"].startswith(("安徽省", "国家税务总局安徽省")), i["organisation"]


def test_localities_serve_better_somewhere_shorter_limits_fewer_visits_fewer_materials() -> None:
    changed: Counter[str] = Counter()
    for entry in _items()["implementations"]:
        basic = _basics()[entry["basic"]].elements
        local, _ = _local(entry)
        # check_local has already refused a longer limit: a different one is a shorter one
        changed["promised_limit"] += local.promised_limit != basic.promised_limit
        changed["visits"] += local.visits < basic.visits
        changed["materials"] += len(local.materials) < len(basic.materials)
        changed["places"] += bool(local.places)
    assert all(changed[k] >= 5 for k in ("promised_limit", "visits", "materials")), changed
    assert changed["places"] == len(_items()["implementations"])


def test_a_change_the_province_does_not_allow_is_refused() -> None:
    entry = next(i for i in _items()["implementations"] if _basics()[i["basic"]].elements.charged)
    basic = _basics()[entry["basic"]]
    assert adjust_rules(basic.adjust)["fees"] is Adjust.LOCKED
    cheaper = [{"name": basic.elements.fees[0].name, "standard": "1 元/件"}]
    with pytest.raises(LockedElementChanged) as refused:
        _local({**entry, "changes": {**entry["changes"], "fees": cheaper}})
    assert refused.value.details["elements"] == ["fees"]


def test_bundles_name_existing_items_for_their_audience() -> None:
    bundles = _yaml("bundles.yaml")["bundles"]
    assert len(bundles) >= 10
    codes = [check_bundle_code(b["code"]) for b in bundles]
    assert len(set(codes)) == len(codes)
    basics = _basics()
    audiences = set()
    for bundle in bundles:
        document = parse_part(BundleDocument, bundle["document"])
        audiences.add(document.audience)
        assert bundle["division_code"] in _organisations().values()
        for part in document.parts:
            assert part.basic_code in basics, f"{document.name}：{part.basic_code} 不在基本目录"
            assert document.audience in basics[part.basic_code].elements.audience, (
                f"{document.name}：{basics[part.basic_code].elements.name} 的服务对象不符"
            )
    assert audiences == set(Audience)
    events = {parse_part(BundleDocument, b["document"]).life_event.label for b in bundles}
    assert {
        "出生",
        "入学",
        "就业",
        "婚育",
        "退休",
        "身后事",
        "安居",
        "开办企业",
        "工程建设",
        "注销",
    } <= events
