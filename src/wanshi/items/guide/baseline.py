"""Plain BM25 over the same jieba words as the guide: the baseline its ranking has to beat.

One field holding every text of the document, no field weights, no synonyms, no misspellings, no bonuses.
The question is read as the guide reads it (question words dropped), so that a comparison measures the
ranking and not the stop-word list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from wanshi.items.guide.documents import GuideDocument
from wanshi.items.guide.fields import Counting, dictionary_words
from wanshi.items.guide.index import Hit
from wanshi.items.guide.postings import Field, Postings
from wanshi.items.guide.questions import read_question
from wanshi.items.guide.segmenter import Segmenter, shared_segmenter
from wanshi.items.guide.synonyms import Synonyms

ALL = Field("all", 1.0, 0.75)


class Bm25Index:
    def __init__(self, documents: Sequence[GuideDocument], postings: Postings, segmenter: Segmenter) -> None:
        self._documents = documents
        self._postings = postings
        self._segmenter = segmenter

    @classmethod
    def build(
        cls,
        documents: Iterable[GuideDocument],
        synonyms: Synonyms | None = None,
        *,
        segmenter: Segmenter | None = None,
    ) -> Bm25Index:
        """``synonyms`` only shape the segmentation, as they do the guide's; they expand nothing here."""
        docs = tuple(documents)
        synonyms = synonyms if synonyms is not None else Synonyms.standard()
        segmenter = segmenter if segmenter is not None else shared_segmenter()
        segmenter.add_words([*synonyms.words(), *(w for d in docs for w in dictionary_words(d))])
        counting = Counting(segmenter)
        counted = []
        for doc in docs:
            together: dict[str, int] = {}
            for words in counting.fields(doc).values():
                for word, count in words.items():
                    together[word] = together.get(word, 0) + count
            counted.append({ALL.name: together})
        return cls(docs, Postings.build(counted, [ALL]), segmenter)

    def search(self, query: str, limit: int = 10, audience: str | None = None) -> list[Hit]:
        words = [w.text for w in read_question(query, self._segmenter).words if w.text in self._postings]
        if not words or limit <= 0:
            return []
        score = np.zeros(len(self._documents), dtype=np.float32)
        for word in words:
            docs, scores = self._postings.of(word)
            score[docs] += scores
        if audience is not None:
            score[[bool(d.audience) and str(audience) not in d.audience for d in self._documents]] = 0
        found = np.flatnonzero(score > 0)
        found = found[np.argsort(-score[found], kind="stable")][:limit]
        return [self._hit(int(at), float(score[at]), words) for at in found]

    def _hit(self, at: int, value: float, words: list[str]) -> Hit:
        doc = self._documents[at]
        why = tuple(dict.fromkeys(w for w in words if self._postings.score(w, at) > 0))
        return Hit(doc.key, doc.kind, doc.title, round(value, 4), why)
