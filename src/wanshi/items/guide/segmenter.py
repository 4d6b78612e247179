"""Chinese word segmentation for the guide: a private jieba tokenizer that knows the catalogue's words.

The tokenizer is jieba's, but never jieba's global one: the global one is shared by every library of the
process, and the words we add (item titles, keywords, synonyms) would leak into them and theirs into us.
Nothing happens at import time; the dictionary (about 350,000 words) loads on first use, about 0.8 s on
this machine. jieba writes a cache of it next to where it is told: under the directory the caller passes,
or else into a private temporary directory removed right after loading (never the shared ``/tmp/jieba.cache``
that concurrent processes race on). Loading from the cache measured no faster than building (0.81 s against
0.84 s), so the default keeps no cache rather than leave files behind.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

# Words longer than this are not split further into dictionary sub-words: titles beyond it are sentences.
LONGEST_SUBWORD_SOURCE = 24


class Segmenter:
    """Cuts text into words with its own jieba dictionary, extended with the words callers add."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._added: set[str] = set()
        self._adding = threading.Lock()  # two indexes built at once share the shared segmenter

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = self._load()
        return self._tokenizer

    def _load(self) -> Any:
        import jieba  # type: ignore[import-untyped]

        # jieba logs each dictionary load at DEBUG to stderr through its own handler.
        logging.getLogger("jieba").setLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        if self._cache_dir is not None:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            tokenizer.tmp_dir = str(self._cache_dir)
            tokenizer.initialize()
            return tokenizer
        with tempfile.TemporaryDirectory(prefix="wanshi-jieba-") as private:
            tokenizer.tmp_dir = private
            tokenizer.initialize()
        return tokenizer

    def add_words(self, words: Iterable[str]) -> None:
        """Make each word one token wherever it appears alone (营业执照, 出生医学证明)."""
        tokenizer = self.tokenizer
        freq: dict[str, int] = tokenizer.FREQ
        with self._adding:
            for word in words:
                if len(word) < 2 or word in self._added:
                    continue
                self._added.add(word)
                pieces = self.cut(word)
                if len(pieces) == 1:
                    continue
                # jieba's suggest_freq without its second cut: just frequent enough to beat the split.
                total: int = tokenizer.total
                odds = 1.0
                for piece in pieces:
                    odds *= freq.get(piece, 1) / total
                tokenizer.add_word(word, freq=max(int(odds * total) + 1, freq.get(word, 0), 3))

    def cut(self, text: str) -> list[str]:
        """The precise segmentation, without jieba's HMM guesses so that query and index cut alike."""
        return [w for w in self.tokenizer.cut(text, HMM=False) if not w.isspace()]

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """Words with their start and end offsets in ``text``."""
        return [
            (w, start, end)
            for w, start, end in self.tokenizer.tokenize(text, mode="default", HMM=False)
            if not w.isspace()
        ]

    def subwords(self, word: str) -> list[str]:
        """Dictionary words inside a longer word (出生医学证明: 出生, 医学, 证明, 医学证明), as jieba's search
        mode does but for every length, so that a query for a part finds the whole."""
        if len(word) < 3 or len(word) > LONGEST_SUBWORD_SOURCE:
            return []
        freq: dict[str, int] = self.tokenizer.FREQ
        found: list[str] = []
        for size in range(2, len(word)):
            for start in range(len(word) - size + 1):
                part = word[start : start + size]
                if freq.get(part, 0) > 0:
                    found.append(part)
        return found

    def index_words(self, text: str) -> list[str]:
        """The words under which a text is indexed: its segmentation plus the sub-words of long words."""
        out: list[str] = []
        for word in self.cut(text):
            out.append(word)
            out.extend(self.subwords(word))
        return out


@cache
def shared_segmenter() -> Segmenter:
    """One segmenter for the process, so that rebuilding an index does not reload the dictionary."""
    return Segmenter()
