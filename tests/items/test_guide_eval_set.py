"""The smart guide's evaluation set (packs/anhui/guide_eval): its shape, not the guide's accuracy. Every
expected code is a basic item or bundle of the pack, no question is asked twice, and both halves are large
and varied enough for top-1 and top-3 accuracy to mean something. Pure: no database."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

PACK = Path(__file__).resolve().parents[2] / "packs" / "anhui"
HALVES = ("dev", "test")
MIN_CASES_PER_HALF = 110
MIN_TARGETS = 80
MAX_OFFICIAL_NAME_SHARE = 0.10
MIN_AUDIENCE_SHARE = 0.25
MAX_PINYIN_SHARE = 0.05
PINYIN_INITIALS = re.compile(r"[a-z]{2,6}")
LATIN_RUN = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class Target:
    name: str
    audiences: frozenset[str]
    bundle: bool


@cache
def _yaml(relative: str) -> Any:
    return yaml.safe_load((PACK / relative).read_text(encoding="utf-8"))


@cache
def _targets() -> dict[str, Target]:
    out: dict[str, Target] = {}
    for entry in _yaml("service_items.yaml")["basic"]:
        elements = entry["elements"]
        out[entry["code"]] = Target(elements["name"], frozenset(elements["audience"]), bundle=False)
    for entry in _yaml("bundles.yaml")["bundles"]:
        document = entry["document"]
        out[entry["code"]] = Target(document["name"], frozenset({document["audience"]}), bundle=True)
    return out


def _cases(half: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = _yaml(f"guide_eval/{half}.yaml")["cases"]
    return cases


def _normalised(question: str) -> str:
    """Punctuation, spaces and letter case do not make a question new."""
    kept = (ch for ch in question.lower() if unicodedata.category(ch)[0] not in "PZS")
    return "".join(kept)


def _official_names() -> set[str]:
    """Each name as written, and its part before a bracketed qualifier (企业注销登记（含简易注销）)."""
    names: set[str] = set()
    for target in _targets().values():
        names |= {target.name, target.name.split("（")[0]}
    return names


@pytest.mark.parametrize("half", HALVES)
def test_each_half_holds_enough_cases(half: str) -> None:
    assert len(_cases(half)) >= MIN_CASES_PER_HALF


@pytest.mark.parametrize("half", HALVES)
def test_every_case_is_a_question_with_one_to_three_distinct_targets(half: str) -> None:
    for case in _cases(half):
        assert set(case) == {"q", "expect"}, case
        assert isinstance(case["q"], str), case
        assert case["q"], case
        assert case["q"].strip() == case["q"], case
        expect = case["expect"]
        assert isinstance(expect, list), case
        assert 1 <= len(expect) <= 3, case
        assert all(isinstance(code, str) for code in expect), case
        assert len(set(expect)) == len(expect), case


@pytest.mark.parametrize("half", HALVES)
def test_every_expected_code_is_an_item_or_bundle_of_the_pack(half: str) -> None:
    unknown = [(c["q"], code) for c in _cases(half) for code in c["expect"] if code not in _targets()]
    assert unknown == []


def test_no_question_is_asked_twice_across_both_halves() -> None:
    counts = Counter(_normalised(c["q"]) for half in HALVES for c in _cases(half))
    assert [q for q, n in counts.items() if n > 1] == []


def test_the_set_covers_enough_targets_and_every_bundle_in_each_half() -> None:
    bundles = {code for code, target in _targets().items() if target.bundle}
    for half in HALVES:
        covered = {code for c in _cases(half) for code in c["expect"]}
        assert len(covered) >= MIN_TARGETS, half
        assert bundles - covered == set(), half


@pytest.mark.parametrize("half", HALVES)
def test_each_half_asks_for_persons_and_enterprises(half: str) -> None:
    cases = _cases(half)
    for audience in ("自然人", "法人"):
        asking = [c for c in cases if any(audience in _targets()[code].audiences for code in c["expect"])]
        assert len(asking) >= MIN_AUDIENCE_SHARE * len(cases), audience


@pytest.mark.parametrize("half", HALVES)
def test_few_questions_repeat_an_official_name(half: str) -> None:
    names = _official_names()
    cases = _cases(half)
    repeating = [c["q"] for c in cases if any(name in c["q"] for name in names)]
    assert len(repeating) <= MAX_OFFICIAL_NAME_SHARE * len(cases), repeating


@pytest.mark.parametrize("half", HALVES)
def test_latin_letters_only_as_a_few_pinyin_initials(half: str) -> None:
    cases = _cases(half)
    runs = [(c["q"], run) for c in cases for run in LATIN_RUN.findall(c["q"])]
    assert [(q, run) for q, run in runs if not PINYIN_INITIALS.fullmatch(run)] == []
    with_latin = {q for q, _ in runs}
    assert 1 <= len(with_latin) <= MAX_PINYIN_SHARE * len(cases), sorted(with_latin)
