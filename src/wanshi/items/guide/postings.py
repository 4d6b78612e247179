"""Inverted lists with BM25F scores computed at build time, so that a search only adds arrays.

BM25F (Robertson and Zaragoza) rather than BM25 per field summed: a word's occurrences in every field are
weighted and length-normalised first, then saturated once. Summing per-field BM25 would let a word that is
merely repeated across fields (in the title, the summary and three materials) outscore a document in which it
matters, and saturation is what stops a long summary from winning by repetition. Because nothing in the score
depends on the query except which words it holds, each word's contribution to each document is final at
build time and kept as two numpy arrays (documents, scores), documents ascending.

A word's rarity (idf) can be counted in some fields only: 身份证 is among the materials of most items, which
must not make it a common word for the item that issues 身份证.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

K1 = 1.2
Docs = npt.NDArray[np.int32]
Scores = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Field:
    name: str
    weight: float
    b: float  # how much the field's length normalises (0: not at all)


@dataclass(frozen=True)
class Postings:
    """For each word, the documents holding it and its BM25F score in each."""

    terms: Mapping[str, int]
    docs: Docs
    scores: Scores
    starts: npt.NDArray[np.int64]

    @classmethod
    def build(
        cls,
        counted: Sequence[Mapping[str, Mapping[str, int]]],
        fields: Sequence[Field],
        rare_in: frozenset[str] | None = None,
    ) -> Postings:
        """``counted``: per document, per field name, the count of each word. ``rare_in``: the fields a
        word's document frequency is counted in (default all); a word found only elsewhere counts all."""
        size = len(counted)
        average = {
            f.name: max(sum(sum(d[f.name].values()) for d in counted if f.name in d) / max(size, 1), 1.0)
            for f in fields
        }
        terms: dict[str, int] = {}
        term_of, doc_of, weight_of = array("i"), array("i"), array("f")
        telling: dict[str, int] = {}
        for doc, by_field in enumerate(counted):
            mixed: dict[str, float] = {}
            told: set[str] = set()
            for f in fields:
                words = by_field.get(f.name)
                if not words:
                    continue
                if rare_in is None or f.name in rare_in:
                    told.update(words)
                norm = f.weight / (1.0 - f.b + f.b * sum(words.values()) / average[f.name])
                for word, count in words.items():
                    mixed[word] = mixed.get(word, 0.0) + count * norm
            for word, weighted in mixed.items():
                term_of.append(terms.setdefault(word, len(terms)))
                doc_of.append(doc)
                weight_of.append(weighted)
            for word in told:
                telling[word] = telling.get(word, 0) + 1
        term_ids = np.frombuffer(term_of, dtype=np.int32) if term_of else np.zeros(0, np.int32)
        order = np.argsort(term_ids, kind="stable")  # documents stay ascending within a word
        docs = np.frombuffer(doc_of, dtype=np.int32)[order] if doc_of else np.zeros(0, np.int32)
        tf = np.frombuffer(weight_of, dtype=np.float32)[order] if weight_of else np.zeros(0, np.float32)
        df = np.bincount(term_ids, minlength=len(terms)) if term_of else np.zeros(0, np.int64)
        starts = np.concatenate(([0], np.cumsum(df))).astype(np.int64)
        told_df = np.array([telling.get(word, 0) for word in terms], dtype=np.int64)
        rare_df = np.where(told_df > 0, told_df, df)
        idf = np.log1p((size - rare_df + 0.5) / (rare_df + 0.5)).astype(np.float32)
        per_entry_idf = np.repeat(idf, df)
        scores = (per_entry_idf * tf * (K1 + 1) / (tf + K1)).astype(np.float32)
        return cls(terms, docs, scores, starts)

    def __contains__(self, word: str) -> bool:
        return word in self.terms

    def of(self, word: str) -> tuple[Docs, Scores]:
        term = self.terms[word]
        start, end = self.starts[term], self.starts[term + 1]
        return self.docs[start:end], self.scores[start:end]

    def score(self, word: str, doc: int) -> float:
        docs, scores = self.of(word)
        at = int(np.searchsorted(docs, doc))
        return float(scores[at]) if at < len(docs) and docs[at] == doc else 0.0
