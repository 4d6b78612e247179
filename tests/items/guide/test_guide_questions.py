"""Reading questions: question words dropped, intent words kept, what the question asks for recognised."""

from __future__ import annotations

import pytest

from wanshi.items.guide import GuideIndex, Segmenter
from wanshi.items.guide.questions import MAX_QUERY_CHARS, read_question


def words(segmenter: Segmenter, text: str) -> list[str]:
    return [w.text for w in read_question(text, segmenter).words]


def test_question_words_are_dropped_and_intent_kept(segmenter: Segmenter, guide: GuideIndex) -> None:
    # 开一家 is a word of the synonym table (开店, 开办 ...), which the guide's build adds to the dictionary.
    assert words(segmenter, "我想开一家餐馆需要办什么") == ["开一家", "餐馆"]
    assert words(segmenter, "孩子出生了要办哪些手续") == ["孩子", "出生"]
    assert words(segmenter, "退休了养老金怎么领") == ["退休", "养老金", "领"]
    assert words(segmenter, "请问一下，营业执照怎么办理？") == ["营业执照"]


def test_full_width_and_case_are_folded(segmenter: Segmenter) -> None:
    assert words(segmenter, "ＹＹＺＺ") == ["yyzz"]


@pytest.mark.parametrize(
    ("text", "wants_list", "asks_detail"),
    [
        ("孩子出生了要办哪些手续", True, False),
        ("开饭店要办什么", True, False),
        ("退休了", True, False),
        ("出生医学证明需要什么材料", False, True),
        ("办护照要多久", False, True),
        ("营业执照", False, False),
    ],
)
def test_what_the_question_asks_for(
    segmenter: Segmenter, text: str, wants_list: bool, asks_detail: bool
) -> None:
    question = read_question(text, segmenter)
    assert (question.wants_list, question.asks_detail) == (wants_list, asks_detail)


@pytest.mark.parametrize(
    "text", ["", "   ", "？！。，", "的了吗", "我想问一下怎么办", "营" * (MAX_QUERY_CHARS + 1)]
)
def test_questions_without_content_are_empty(segmenter: Segmenter, text: str) -> None:
    assert read_question(text, segmenter).empty


def test_a_question_at_the_length_cap_is_read(segmenter: Segmenter) -> None:
    text = "营业执照" + "啊" * (MAX_QUERY_CHARS - 4)
    assert words(segmenter, text)[0] == "营业执照"


def test_removed_phrases_do_not_join_their_neighbours(segmenter: Segmenter) -> None:
    question = read_question("结婚需要哪些证", segmenter)
    assert all(w.text not in ("结婚证",) for w in question.words)
