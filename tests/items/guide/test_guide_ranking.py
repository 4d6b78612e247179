"""Ranking: life events, items, audiences, the baseline, and questions that must not fail."""

from __future__ import annotations

import pytest
from guide_catalogue import CATALOGUE, first, keys

from wanshi.items.guide import Bm25Index, GuideDocument, GuideIndex, Segmenter, evaluate
from wanshi.items.guide.evaluation import Case
from wanshi.kernel.errors import ValidationFailed


@pytest.mark.parametrize(
    ("question", "bundle"),
    [
        ("孩子出生了要办哪些手续", "LIFE-001"),
        ("我想开一家餐馆需要办什么", "LIFE-003"),
        ("退休了要办哪些手续", "LIFE-002"),
    ],
)
def test_life_event_questions_rank_the_bundle_first(guide: GuideIndex, question: str, bundle: str) -> None:
    assert first(guide, question) == bundle


def test_a_question_about_one_item_ranks_the_item_first(guide: GuideIndex) -> None:
    assert first(guide, "出生医学证明需要什么材料") == "302A0000000003"
    assert first(guide, "退休了养老金怎么领") in ("305A0000000006", "LIFE-002")
    assert "305A0000000006" in keys(guide, "退休了养老金怎么领", 2)


def test_the_exact_title_comes_first(guide: GuideIndex) -> None:
    assert first(guide, "出生登记") == "303A0000000004"
    assert first(guide, "食品经营许可") == "301A0000000002"


def test_why_names_the_matched_words(guide: GuideIndex) -> None:
    hit = guide.search("开饭店要办什么")[0]
    assert hit.key == "LIFE-003"
    assert "开饭店" in hit.why
    assert hit.kind == "bundle"
    assert hit.title == "开办餐饮店一件事"


def test_audience_filter(guide: GuideIndex) -> None:
    assert first(guide, "注销", audience="enterprise") == "301A0000000011"
    assert first(guide, "注销", audience="person") is None
    everyone = {h.key for h in guide.search("营业执照", audience="person")}
    assert "301A0000000001" in everyone
    assert "301A0000000002" not in everyone
    assert guide.search("营业执照", audience="martian") == []


def test_limit(guide: GuideIndex) -> None:
    assert len(guide.search("出生", limit=2)) == 2
    assert guide.search("出生", limit=0) == []


@pytest.mark.parametrize(
    "query", ["", " ", "？？？", "asdfghjkl", "的的的", "😀" * 5, "a" * 10_000, "营" * 201]
)
def test_garbage_finds_nothing_and_never_fails(guide: GuideIndex, baseline: Bm25Index, query: str) -> None:
    assert guide.search(query) == []
    assert baseline.search(query) == []


def test_non_text_queries_find_nothing(guide: GuideIndex) -> None:
    assert guide.search(None) == []  # type: ignore[arg-type]


def test_plain_bm25_baseline(baseline: Bm25Index) -> None:
    assert first(baseline, "营业执照") == "301A0000000001"
    assert first(baseline, "结婚登记") == "306A0000000007"
    assert first(baseline, "护照", audience="enterprise") is None
    assert baseline.search("营业证") == []  # no synonyms
    assert all("营业执照" not in h.why for h in baseline.search("营业职照"))  # no misspellings


def test_the_guide_beats_the_baseline(guide: GuideIndex, baseline: Bm25Index) -> None:
    cases = [
        ("孩子出生了要办哪些手续", ["LIFE-001"]),
        ("营业职照", ["301A0000000001"]),
        ("上户口", ["303A0000000004"]),
        ("开饭店要办什么", ["LIFE-003"]),
    ]
    assert evaluate(guide, cases).top1 > evaluate(baseline, cases).top1


def test_evaluate_counts_first_and_first_three(guide: GuideIndex) -> None:
    result = evaluate(
        guide,
        [
            Case("营业执照", frozenset({"301A0000000001"})),
            ("出生", ["303A0000000004", "302A0000000003", "LIFE-001"]),
            ("出生医学证明", ["LIFE-001"]),
            ("火星移民", ["301A0000000011"]),
        ],
    )
    assert result.cases == 4
    assert result.top1 == 0.5
    assert result.top3 == 0.75
    assert [m.question for m in result.misses] == ["出生医学证明", "火星移民"]
    assert result.misses[1].got == ()
    assert evaluate(guide, []).top1 == 0.0


def test_duplicate_keys_are_refused(segmenter: Segmenter) -> None:
    with pytest.raises(ValidationFailed) as raised:
        GuideIndex.build([CATALOGUE[0], CATALOGUE[0]], segmenter=segmenter)
    assert raised.value.error_code == "guide_duplicate_key"


def test_an_empty_catalogue_finds_nothing(segmenter: Segmenter) -> None:
    assert GuideIndex.build([], segmenter=segmenter).search("营业执照") == []
    assert Bm25Index.build([], segmenter=segmenter).search("营业执照") == []


def test_pack_synonyms_take_effect(segmenter: Segmenter) -> None:
    from wanshi.items.guide import Synonyms

    doc = GuideDocument("309A0000000001", "item", "徽州古建筑修缮许可", ("person",))
    plain = GuideIndex.build([doc], Synonyms.standard(), segmenter=segmenter)
    packed = GuideIndex.build(
        [doc], Synonyms.standard().with_groups([["老房子", "古建筑"]]), segmenter=segmenter
    )
    assert plain.search("老房子修缮")[0].why == ("修缮",)
    assert set(packed.search("老房子修缮")[0].why) == {"古建筑", "修缮"}


def test_a_word_common_among_materials_stays_rare_for_the_item_about_it(segmenter: Segmenter) -> None:
    # 身份证 is a material of almost every item; the item that issues it must still win a question about it.
    issuing = GuideDocument("101G0003000000", "item", "居民身份证申领", ("person",), keywords=("办身份证",))
    needs, child = ("居民身份证",), ("孩子",)
    children = [
        GuideDocument(f"104E{n:010d}", "item", f"儿童福利{n}", ("person",), keywords=child, materials=needs)
        for n in range(30)
    ]
    index = GuideIndex.build([issuing, *children], segmenter=segmenter)
    assert first(index, "孩子16岁了要办身份证吗") == "101G0003000000"
