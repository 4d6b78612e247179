"""Finding words by their sound: homophone misspellings (营业职照, 准生正), near sounds, typed pinyin (yyzz).

Most misspellings come from pinyin input methods: the right sound, the wrong character. So a vocabulary
word is filed under its toneless pinyin, folded the way Anhui speakers blur sounds: 平翘舌 (zh/ch/sh as
z/c/s), 前后鼻音 (ing/eng/ang as in/en/an) and n/l, which the Jianghuai dialects do not tell apart. 出身证明
then sounds like 出生证明. What no fold catches is compared with rapidfuzz on the same folded pinyin, among
words of the same number of syllables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

FOLDS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ng", "n"), ("l", "n"))
NEAR_CUTOFF = 85.0
NEAR_LIMIT = 3
HAN = re.compile(r"^[\u4e00-\u9fff]+$")
MAX_INITIALS = 10
MIN_FOLDED_CHARS = 3


def fold(letters: str) -> str:
    for sound, blurred in FOLDS:
        letters = letters.replace(sound, blurred)
    return letters


@lru_cache(maxsize=65536)
def syllables(word: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(word))


def sound_key(word: str) -> str:
    return fold("".join(syllables(word)))


def initials(word: str) -> str:
    return "".join(s[0] for s in syllables(word) if s)


class SoundIndex:
    """Vocabulary words by folded pinyin, by initials and, for near matches, by number of syllables."""

    def __init__(self, words: Iterable[str]) -> None:
        self._by_key: dict[str, list[str]] = {}
        self._by_initials: dict[str, list[str]] = {}
        self._two: dict[str, list[str]] = {}
        by_size: dict[int, dict[str, None]] = {}
        for word in dict.fromkeys(words):
            if len(word) < 2 or not HAN.match(word):
                continue
            key = sound_key(word)
            self._by_key.setdefault(key, []).append(word)
            if len(word) == 2:
                self._two.setdefault("".join(syllables(word)), []).append(word)
            if len(word) <= MAX_INITIALS:
                self._by_initials.setdefault(initials(word), []).append(word)
            by_size.setdefault(len(word), {})[key] = None
        self._keys_by_size = {size: list(keys) for size, keys in by_size.items()}

    def homophones(self, text: str) -> list[str]:
        """Words that sound like ``text`` (Chinese characters), other than ``text`` itself. Two syllables
        must sound exactly alike (低包, 低保): folded, 钱治 would sound like 迁址, 签字 and 强制."""
        if len(text) < 2 or not HAN.match(text):
            return []
        if len(text) < MIN_FOLDED_CHARS:
            return [w for w in self._two.get("".join(syllables(text)), ()) if w != text]
        return [w for w in self._by_key.get(sound_key(text), ()) if w != text]

    def near(self, text: str) -> list[str]:
        """Words of as many syllables whose folded pinyin is close to that of ``text``."""
        if len(text) < MIN_FOLDED_CHARS or not HAN.match(text):
            return []
        keys = self._keys_by_size.get(len(text))
        if not keys:
            return []
        from rapidfuzz import fuzz, process

        found = process.extract(
            sound_key(text), keys, scorer=fuzz.ratio, score_cutoff=NEAR_CUTOFF, limit=NEAR_LIMIT
        )
        return [w for key, _, _ in found for w in self._by_key[key] if w != text]

    def spelled(self, letters: str) -> list[str]:
        """Words whose whole pinyin was typed (yingyezhizhao), or their initials (yyzz)."""
        if len(letters) < 2:
            return []
        return self._by_key.get(fold(letters)) or self._by_initials.get(letters, [])
