"""The synonym table: groups of words citizens use for one thing (营业执照/执照/营业证).

Groups are symmetric and not transitive: a word's related words are the other members of the groups it
belongs to, never the members of groups those belong to (法人 relates to 法定代表人, which must not pull in
企业 through another group). The standard table is ``synonyms.txt`` beside this module; packs add theirs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

SEPARATOR = "/"


def normalise(word: str) -> str:
    """Full-width forms folded and Latin letters lowered, as queries are (ＫＴＶ and ktv are one word)."""
    return unicodedata.normalize("NFKC", word).strip().lower()


@dataclass(frozen=True)
class Synonyms:
    groups: tuple[frozenset[str], ...]
    _related: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        related: dict[str, set[str]] = {}
        for group in self.groups:
            for word in group:
                related.setdefault(word, set()).update(group - {word})
        object.__setattr__(self, "_related", {w: frozenset(r) for w, r in related.items()})

    @classmethod
    def of(cls, groups: Iterable[Iterable[str]]) -> Synonyms:
        cleaned = (frozenset(w for w in map(normalise, g) if w) for g in groups)
        return cls(tuple(g for g in cleaned if len(g) > 1))

    @classmethod
    def parse(cls, text: str) -> Synonyms:
        """One group a line, words separated by “/”; blank lines and “#” comments ignored."""
        lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
        return cls.of(line.split(SEPARATOR) for line in lines if line)

    @classmethod
    def standard(cls) -> Synonyms:
        return _standard()

    def with_groups(self, groups: Iterable[Iterable[str]]) -> Synonyms:
        """This table and a pack's own groups."""
        return Synonyms(self.groups + Synonyms.of(groups).groups)

    def related(self, word: str) -> frozenset[str]:
        return self._related.get(word, frozenset())

    def words(self) -> frozenset[str]:
        return frozenset(self._related)


@cache
def _standard() -> Synonyms:
    return Synonyms.parse(resources.files(__package__).joinpath("synonyms.txt").read_text(encoding="utf-8"))
