"""Resource codes, metadata rules, mounts and diffs: pure domain, no database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from wanshi.datahub.catalogue.domain import (
    DEFAULT_SCALE,
    MAX_SCALE,
    DataType,
    InformationItem,
    Metadata,
    Mount,
    MountKind,
    OpenType,
    ShareType,
    TopClass,
    UpdateCycle,
    check_metadata,
    classify,
    code_problems,
    diff,
    metadata_problems,
    mount_problems,
)
from wanshi.datahub.ingest.domain import MAX_DECIMAL_SCALE
from wanshi.kernel.errors import ValidationFailed

META = Metadata(
    name="人口基础信息",
    summary="全省户籍人口基础信息",
    format="数据库",
    items=(
        InformationItem("id_number", "居民身份证号码", length=18, required=True),
        InformationItem("name", "姓名", length=50, required=True),
    ),
    share_type=ShareType.UNCONDITIONAL,
    update_cycle=UpdateCycle.DAILY,
)


@pytest.mark.parametrize(
    ("code", "top", "path"),
    [
        ("101001001/000001", TopClass.BASIC, "1-01-001-001"),
        ("205003/000120", TopClass.THEME, "2-05-003"),
        ("331007002/000012", TopClass.DEPARTMENT, "3-31-007-002"),
    ],
)
def test_codes_carry_their_classification(code: str, top: TopClass, path: str) -> None:
    assert code_problems(code) == []
    found = classify(code)
    assert (found.top, found.path) == (top, path)
    assert found.top.label in ("基础信息资源", "主题信息资源", "部门信息资源")


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("401001001/000001", "catalogue_code_invalid"),  # no 类 4
        ("10100100/000001", "catalogue_code_invalid"),  # 细目 of two digits
        ("101001001-000001", "catalogue_code_invalid"),
        ("101001001/00001", "catalogue_code_invalid"),
        ("100001001/000001", "catalogue_code_zero_part"),
        ("101001001/000000", "catalogue_code_zero_part"),
        ("", "catalogue_code_invalid"),
    ],
)
def test_bad_codes_are_refused(code: str, problem: str) -> None:
    assert [p.code for p in code_problems(code)] == [problem]
    with pytest.raises(ValidationFailed):
        classify(code)


def test_conditional_sharing_needs_conditions_and_refusal_a_basis() -> None:
    conditional = replace(META, share_type=ShareType.CONDITIONAL)
    assert [p.code for p in metadata_problems("101001001/000001", conditional)] == [
        "catalogue_share_conditions_required"
    ]
    refused = replace(META, share_type=ShareType.NONE)
    with pytest.raises(ValidationFailed) as caught:
        check_metadata("101001001/000001", refused)
    assert caught.value.error_code == "catalogue_share_basis_required"
    check_metadata(
        "101001001/000001", replace(refused, share_basis="《中华人民共和国个人信息保护法》第十三条")
    )
    opened = replace(META, open_type=OpenType.CONDITIONAL)
    assert [p.code for p in metadata_problems("101001001/000001", opened)] == [
        "catalogue_open_conditions_required"
    ]


def test_every_item_problem_is_reported_with_its_index() -> None:
    meta = replace(
        META,
        items=(
            InformationItem("ID", "身份证"),
            InformationItem("name", ""),
            InformationItem("name", "姓名", length=0),
        ),
        related_codes=("101001001/000001", "bad"),
    )
    found = [(p.code, p.item) for p in metadata_problems("101001001/000001", meta)]
    assert ("catalogue_item_name_invalid", 0) in found
    assert ("catalogue_item_label_required", 1) in found
    assert ("catalogue_item_length_invalid", 2) in found
    assert ("catalogue_item_name_duplicate", 2) in found
    assert ("catalogue_related_code_invalid", None) in found
    assert ("catalogue_related_self", None) in found


def test_mounts_keep_secrets_out() -> None:
    assert mount_problems(Mount(MountKind.DATASET, dataset="population")) == []
    database = Mount(
        MountKind.DATABASE, url="postgresql+psycopg://reader@db.gov/pop", query="select * from p"
    )
    assert mount_problems(database) == []
    assert mount_problems(replace(database, secret_ref="vault:dept/pop-reader")) == []
    clear = replace(database, url="postgresql+psycopg://reader:s3cret@db.gov/pop")
    assert [p.code for p in mount_problems(clear)] == ["catalogue_mount_secret_in_clear"]
    token = Mount(MountKind.HTTP, url="https://api.gov/pop?access_token=abc")
    assert [p.code for p in mount_problems(token)] == ["catalogue_mount_secret_in_clear"]
    assert [p.code for p in mount_problems(Mount(MountKind.HTTP, url="ftp://x"))] == [
        "catalogue_mount_url_invalid"
    ]
    assert [p.code for p in mount_problems(replace(database, query=""))] == ["catalogue_mount_query_required"]
    assert [p.code for p in mount_problems(replace(database, secret_ref="s3cret"))] == [
        "catalogue_mount_secret_ref_invalid"
    ]


def test_diff_names_metadata_and_item_changes() -> None:
    after = replace(
        META,
        name="人口基础信息（2026版）",
        items=(
            InformationItem("id_number", "公民身份号码", length=18, required=True),
            InformationItem("birth_date", "出生日期", data_type=DataType.DATE),
        ),
    )
    found = diff(META, after)
    assert [c.key for c in found.metadata] == ["name"]
    assert [i.name for i in found.items_added] == ["birth_date"]
    assert [i.name for i in found.items_removed] == ["name"]
    assert [(c.name, [x.key for x in c.changes]) for c in found.items_changed] == [("id_number", ["label"])]
    assert not found.empty
    assert diff(META, META).empty


def test_a_decimal_item_carries_its_scale_and_two_places_when_none_is_given() -> None:
    assert InformationItem("capital", "注册资本", data_type=DataType.DECIMAL).scale == DEFAULT_SCALE == 2
    assert InformationItem("capital", "注册资本", data_type=DataType.DECIMAL, scale=4).scale == 4
    assert InformationItem("name", "姓名").scale is None
    # Versions stored before items had a scale load as two places, equal to an item that says so.
    stored = InformationItem("capital", "注册资本", data_type=DataType.DECIMAL, scale=4).as_dict()
    assert stored["scale"] == 4
    assert InformationItem.of(stored).scale == 4
    old = {k: v for k, v in stored.items() if k != "scale"}
    assert InformationItem.of(old) == InformationItem(
        "capital", "注册资本", data_type=DataType.DECIMAL, scale=2
    )
    assert InformationItem.of({**old, "data_type": "string"}).scale is None
    for scale in (0, MAX_SCALE):
        meta = replace(
            META, items=(InformationItem("amount", "金额", data_type=DataType.DECIMAL, scale=scale),)
        )
        assert metadata_problems("101001001/000001", meta) == []


def test_catalogue_and_ingest_agree_on_the_largest_scale() -> None:
    assert MAX_SCALE == MAX_DECIMAL_SCALE


@pytest.mark.parametrize(
    ("item", "code"),
    [
        (
            InformationItem("amount", "金额", data_type=DataType.DECIMAL, scale=MAX_SCALE + 1),
            "catalogue_item_scale_invalid",
        ),
        (
            InformationItem("amount", "金额", data_type=DataType.DECIMAL, scale=-1),
            "catalogue_item_scale_invalid",
        ),
        (
            InformationItem("amount", "金额", data_type=DataType.INTEGER, scale=2),
            "catalogue_item_scale_not_decimal",
        ),
        (InformationItem("name", "名称", scale=0), "catalogue_item_scale_not_decimal"),
    ],
)
def test_a_bad_scale_is_refused_in_chinese(item: InformationItem, code: str) -> None:
    meta = replace(META, items=(META.items[0], item))
    found = metadata_problems("101001001/000001", meta)
    assert [(p.code, p.item, p.field) for p in found] == [(code, 1, "items")]
    assert found[0].message.startswith("第 2 个信息项")
    assert "小数位数" in found[0].message
    with pytest.raises(ValidationFailed) as caught:
        check_metadata("101001001/000001", meta)
    assert caught.value.error_code == code


def test_diff_shows_a_changed_scale_and_none_for_an_absent_one() -> None:
    two = replace(
        META, items=(*META.items, InformationItem("capital", "注册资本", data_type=DataType.DECIMAL))
    )
    four = replace(
        META, items=(*META.items, InformationItem("capital", "注册资本", data_type=DataType.DECIMAL, scale=4))
    )
    found = diff(two, four)
    assert [
        (c.name, [(x.key, x.label, x.before, x.after) for x in c.changes]) for c in found.items_changed
    ] == [("capital", [("scale", "小数位数", 2, 4)])]
    # A version stored without the key reads as two places: no change to show against an explicit 2.
    old = Metadata.of(
        {
            **two.as_dict(),
            "items": [{k: v for k, v in i.as_dict().items() if k != "scale"} for i in two.items],
        }
    )
    assert diff(old, two).empty
