"""How well a search answers a set of questions: the share answered first and within the first three."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from wanshi.items.guide.index import Hit


class Searcher(Protocol):
    def search(self, query: str, limit: int = 10, audience: str | None = None) -> list[Hit]: ...


@dataclass(frozen=True)
class Case:
    question: str
    acceptable: frozenset[str]  # keys any of which answers the question


@dataclass(frozen=True)
class Miss:
    question: str
    acceptable: tuple[str, ...]
    got: tuple[str, ...]  # the first three keys returned


@dataclass(frozen=True)
class Evaluation:
    cases: int
    top1: float  # share of questions answered by the first hit
    top3: float
    misses: tuple[Miss, ...]  # questions whose first hit was not acceptable


def evaluate(index: Searcher, cases: Iterable[tuple[str, Iterable[str]] | Case]) -> Evaluation:
    first = within_three = 0
    misses: list[Miss] = []
    counted = 0
    for case in cases:
        question, acceptable = (case.question, case.acceptable) if isinstance(case, Case) else case
        keys = frozenset(acceptable)
        got = tuple(h.key for h in index.search(question, limit=3))
        counted += 1
        if got[:1] and got[0] in keys:
            first += 1
        else:
            misses.append(Miss(question, tuple(sorted(keys)), got))
        within_three += any(k in keys for k in got)
    return Evaluation(counted, _share(first, counted), _share(within_three, counted), tuple(misses))


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
