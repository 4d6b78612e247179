"""Service items as a JSON exchange document: a versioned envelope, a lossless round trip, and problems
named by entry and element like the workbook's (issue #5 item 4)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from test_sheets import (
    FOOD,
    FULL_ELEMENTS,
    HEFEI_BODY,
    LEAN_ELEMENTS,
    YAOHAI_BODY,
    assert_same,
    basic,
    card_lists,
    implementation,
)

from wanshi.items import jsonio
from wanshi.items.domain.views import BasicCard, ItemCard
from wanshi.items.jsonio import FORMAT, read_json, write_json
from wanshi.items.sheets import ItemEntry, entry_of
from wanshi.kernel.errors import ValidationFailed


def _envelope(cards: list[ItemCard | BasicCard]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(write_json(cards))
    return loaded


def _read(envelope: dict[str, Any]) -> Any:
    return read_json(json.dumps(envelope, ensure_ascii=False).encode())


def test_the_envelope_is_versioned_and_readable_chinese() -> None:
    content = write_json([basic(FULL_ELEMENTS, adjust={"visits": "locked"}), implementation(LEAN_ELEMENTS)])
    assert "食品经营许可证核发" in content.decode()  # not \\u-escaped
    envelope = json.loads(content)
    assert envelope["format"] == FORMAT == "wanshi.items/1"
    first, second = envelope["entries"]
    assert set(first) == {"kind", "code", "basic_code", "organisation", "division_code", "document"}
    assert (first["kind"], first["code"], first["division_code"]) == ("basic", FOOD, "")
    assert first["document"]["adjust"] == {"visits": "locked"}
    assert second["kind"] == "implementation"
    assert second["document"]["body_code"] == HEFEI_BODY
    assert second["document"]["elements"]["item_type"] == "20"


def test_entries_come_back_exactly() -> None:
    cards: list[ItemCard | BasicCard] = [
        basic(FULL_ELEMENTS, adjust={"materials": "free"}),
        implementation(FULL_ELEMENTS, handling_no=3, business_no=12, business_name="延续"),
        implementation(LEAN_ELEMENTS, body=YAOHAI_BODY, division="340102"),
    ]
    reading = read_json(write_json(cards))
    assert reading.problems == []
    assert_same(reading.entries, cards)


@settings(max_examples=40)
@given(card_lists)
def test_any_entries_come_back_exactly(generated: list[ItemCard | BasicCard]) -> None:
    reading = read_json(write_json(generated))
    assert reading.problems == []
    assert_same(reading.entries, generated)


def test_read_entries_can_be_written_again_unchanged() -> None:
    content = write_json([implementation(FULL_ELEMENTS)])
    entries: list[ItemEntry] = read_json(content).entries
    assert write_json(entries) == content
    assert entry_of(entries[0]) is entries[0]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"\xff\xfe not utf-8", "item_json_unreadable"),
        (b"{not json", "item_json_unreadable"),
        (b"[" * 100_000, "item_json_unreadable"),
        (b'{"entries": []}', "item_json_format_unknown"),
        (b'{"format": "wanshi.items/2", "entries": []}', "item_json_format_unknown"),
        (b'["wanshi.items/1"]', "item_json_format_unknown"),
        (b'{"format": "wanshi.items/1", "entries": {}}', "item_json_unreadable"),
    ],
)
def test_what_is_not_an_items_document_is_refused(content: bytes, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_json(content)
    assert caught.value.error_code == code


def test_a_byte_order_mark_is_accepted() -> None:
    reading = read_json(b"\xef\xbb\xbf" + write_json([implementation(LEAN_ELEMENTS)]))
    assert reading.problems == []
    assert len(reading.entries) == 1


def test_size_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    content = write_json([implementation(LEAN_ELEMENTS), implementation(LEAN_ELEMENTS, body=YAOHAI_BODY)])
    monkeypatch.setattr(jsonio, "MAX_ENTRIES", 1)
    with pytest.raises(ValidationFailed) as caught:
        read_json(content)
    assert caught.value.error_code == "item_json_too_large"
    monkeypatch.setattr(jsonio, "MAX_BYTES", len(content) - 1)
    with pytest.raises(ValidationFailed) as caught:
        read_json(content)
    assert caught.value.error_code == "item_json_too_large"


def test_problems_name_the_entry_and_the_element() -> None:
    envelope = _envelope(
        [implementation(FULL_ELEMENTS), implementation(LEAN_ELEMENTS, body=YAOHAI_BODY, division="340102")]
    )
    broken = copy.deepcopy(envelope["entries"][0])
    broken["document"]["elements"]["materials"][1]["name"] = ""
    broken["document"]["elements"]["visits"] = "twice"
    broken["document"]["elements"]["promised_limit"]["value"] = -1
    envelope["entries"][0] = broken
    reading = _read(envelope)
    assert [e.division_code for e in reading.entries] == ["340102"]
    assert [(p.sheet, p.row, p.column, p.code) for p in reading.problems] == [
        ("", 1, "承诺办结时限", "item_elements_invalid"),
        ("", 1, "到现场次数", "item_elements_invalid"),
        ("", 1, "申请材料第 2 条·材料名称", "item_elements_invalid"),
    ]
    assert [p.message for p in reading.problems] == ["不得小于 0", "应为整数", "不能为空"]
    assert reading.problems[2].text == "第 1 个事项「申请材料第 2 条·材料名称」：不能为空"


def test_identity_problems_are_reported_with_the_documents() -> None:
    envelope = _envelope([implementation(LEAN_ELEMENTS)])
    entry = envelope["entries"][0]
    entry["organisation"] = " "
    entry["document"]["body_code"] = "91340100MA2N00000X"
    entry["document"]["elements"]["name"] = "办"
    reading = _read(envelope)
    assert reading.entries == []
    assert [(p.column, p.code) for p in reading.problems] == [
        ("实施主体", "item_organisation_required"),
        ("实施主体统一社会信用代码", "item_body_code_invalid"),
        ("事项名称", "item_elements_invalid"),
    ]


def test_a_stated_code_must_be_the_one_its_parts_make() -> None:
    envelope = _envelope([implementation(LEAN_ELEMENTS)])
    envelope["entries"][0]["document"]["handling_no"] = 2
    [problem] = _read(envelope).problems
    assert (problem.column, problem.code) == ("实施编码", "item_code_mismatch")
    assert "-2-00" in problem.message


def test_a_missing_code_is_made_from_its_parts() -> None:
    envelope = _envelope([implementation(LEAN_ELEMENTS)])
    expected = envelope["entries"][0].pop("code")
    [entry] = _read(envelope).entries
    assert entry.code == expected


def test_malformed_entries_are_problems_not_crashes() -> None:
    good = _envelope([implementation(LEAN_ELEMENTS)])["entries"][0]
    envelope = {
        "format": FORMAT,
        "entries": [
            "an entry",
            {**good, "kind": "bundle"},
            {**good, "basic_code": 340},
            {**good, "document": []},
            {k: v for k, v in good.items() if k != "organisation"},
            good,
        ],
    }
    reading = _read(envelope)
    assert [(p.row, p.column, p.code) for p in reading.problems] == [
        (1, "", "item_entry_invalid"),
        (2, "类别", "item_value_invalid"),
        (3, "基本编码", "item_value_invalid"),
        (4, "", "item_value_invalid"),
        (5, "实施主体", "item_organisation_required"),
    ]
    assert len(reading.entries) == 1


def test_duplicated_codes_leave_both_entries_out() -> None:
    card = implementation(LEAN_ELEMENTS)
    other = implementation(LEAN_ELEMENTS, body=YAOHAI_BODY, division="340102")
    envelope = _envelope([card, other, card])
    reading = _read(envelope)
    assert [(p.row, p.column, p.code) for p in reading.problems] == [(3, "实施编码", "item_code_duplicate")]
    assert reading.problems[0].message == "与第 1 个事项重复"
    assert [e.code for e in reading.entries] == [other.code]
