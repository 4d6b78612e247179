"""The guide's search: a citizen's question in, the services and 一件事 bundles that answer it out.

A question is read (questions.py) into content words; each becomes a *concept*: the word, its synonyms,
or what it was misspelt for, each alternative with a weight. A document scores, per concept, its best
alternative's BM25F score (postings.py) times that weight: the best and not the sum, so that a document full
of synonyms of one word does not outscore one that matches every word of the question once. Then:

- coverage: the share of the question's concepts a document matches scales its score, a concept matched
  only by a synonym or a guess counting as its weight, one found only among materials or conditions half.
  BM25 alone ranks a document that matches one rare word above one that matches all the common ones; a
  citizen who asks for 开 餐馆 wants both, and one who asks 孩子出生 means the words said more than their
  synonyms (子女, 生育).
- head fields: a document whose title, keywords, outcome or life event hold every concept is about what was
  asked, not one that mentions it in a material list.
- exact title (the question is the item's name) and phrase (the question's words, in order, inside a title):
  someone who typed the name of a service wants that service.
- bundles: for life-event phrasing (出生了要办哪些手续) the 一件事 bundle of the event is the answer, unless
  the question is about a detail of one service (材料, 多久), which an item answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from wanshi.items.guide.documents import GuideDocument
from wanshi.items.guide.fields import (
    FIELDS,
    HEAD_FIELDS,
    MENTION_FIELDS,
    SOUND_FIELDS,
    Counting,
    dictionary_words,
    normalise,
)
from wanshi.items.guide.phonetic import SoundIndex
from wanshi.items.guide.postings import Postings
from wanshi.items.guide.questions import Question, Word, read_question
from wanshi.items.guide.segmenter import Segmenter, shared_segmenter
from wanshi.items.guide.synonyms import Synonyms
from wanshi.kernel.errors import ValidationFailed

SYNONYM = 0.7  # a synonym counts less than the word typed
HOMOPHONE = 0.9  # 营业职照 surely meant 营业执照
NEAR = 0.7  # a near sound may be a different word
SPELLED = 0.8  # yyzz: one of several words with those initials
PART = 0.6  # a sub-word of a word no document holds
COVERAGE_FLOOR = 0.3  # score kept by a document matching none but one of many concepts
MENTIONED = 0.5  # coverage by a word found only where a document mentions things (fields.MENTION_FIELDS)
ALL_IN_HEAD = 1.3
EXACT_TITLE = 2.0
PHRASE_IN_TITLE = 1.3
BUNDLE_FOR_EVENT = 1.6
MAX_WINDOW_CHARS = 8
MAX_ALTERNATIVES = 40
MAX_CONCEPTS = 24
NOT_WORD = re.compile(r"[\W_]+")
RERANKED = 50  # documents the phrase bonus is checked on; the rest cannot overtake them


@dataclass(frozen=True)
class Hit:
    key: str
    kind: str
    title: str
    score: float
    why: tuple[str, ...]  # the documents' words the question matched, strongest first


@dataclass(frozen=True)
class Concept:
    said: str  # the question's words this concept stands for
    alternatives: dict[str, float]  # indexed word -> weight


class GuideIndex:
    def __init__(
        self,
        documents: Sequence[GuideDocument],
        postings: Postings,
        head: Postings,
        substance: Postings,
        sounds: SoundIndex,
        vocabulary: frozenset[str],
        synonyms: Synonyms,
        segmenter: Segmenter,
    ) -> None:
        self._documents = documents
        self._postings = postings
        self._head = head
        self._substance = substance
        self._sounds = sounds
        self._vocabulary = vocabulary
        self._synonyms = synonyms
        self._segmenter = segmenter
        self._titles: dict[str, list[int]] = {}
        for at, doc in enumerate(documents):
            self._titles.setdefault(_squeeze(doc.title), []).append(at)
        self._title_text = [_squeeze(d.title) for d in documents]
        self._bundles = np.array([d.kind == "bundle" for d in documents], dtype=bool)
        self._audiences: dict[str, np.ndarray] = {}
        for value in {a for d in documents for a in d.audience}:
            self._audiences[value] = np.array([not d.audience or value in d.audience for d in documents])

    @classmethod
    def build(
        cls,
        documents: Iterable[GuideDocument],
        synonyms: Synonyms | None = None,
        *,
        segmenter: Segmenter | None = None,
    ) -> GuideIndex:
        docs = tuple(documents)
        _check_keys(docs)
        synonyms = synonyms if synonyms is not None else Synonyms.standard()
        segmenter = segmenter if segmenter is not None else shared_segmenter()
        segmenter.add_words([*synonyms.words(), *(w for d in docs for w in dictionary_words(d))])
        counting = Counting(segmenter)
        counted = [counting.fields(d) for d in docs]
        telling = frozenset(f.name for f in FIELDS if f.name not in MENTION_FIELDS)
        postings = Postings.build(counted, FIELDS, rare_in=telling)
        head = Postings.build(counted, [f for f in FIELDS if f.name in HEAD_FIELDS])
        substance = Postings.build(counted, [f for f in FIELDS if f.name in telling])
        sound_words = {w for by_field in counted for f in SOUND_FIELDS for w in by_field.get(f, ())}
        vocabulary = frozenset(w for w in sound_words | synonyms.words() if len(w) >= 2)
        return cls(docs, postings, head, substance, SoundIndex(vocabulary), vocabulary, synonyms, segmenter)

    def search(self, query: str, limit: int = 10, audience: str | None = None) -> list[Hit]:
        """The best ``limit`` documents for a question; ``audience`` ("person", "enterprise") filters."""
        question = read_question(query, self._segmenter)
        concepts = self._concepts(question)
        if not concepts or limit <= 0 or not self._documents:
            return []
        size = len(self._documents)
        total = np.zeros(size, dtype=np.float32)
        covered = np.zeros(size, dtype=np.float32)
        in_head = np.zeros(size, dtype=np.int32)
        for concept in concepts:
            best = np.zeros(size, dtype=np.float32)
            surest = np.zeros(size, dtype=np.float32)
            head = np.zeros(size, dtype=bool)
            for word, weight in concept.alternatives.items():
                docs, scores = self._postings.of(word)
                best[docs] = np.maximum(best[docs], scores * weight)
                surest[docs] = np.maximum(surest[docs], weight * MENTIONED)
                if word in self._substance:
                    about = self._substance.of(word)[0]
                    surest[about] = np.maximum(surest[about], weight)
                if word in self._head:
                    head[self._head.of(word)[0]] = True
            total += best
            covered += surest
            in_head += head
        score = total * (COVERAGE_FLOOR + (1 - COVERAGE_FLOOR) * covered / len(concepts))
        score[in_head == len(concepts)] *= ALL_IN_HEAD
        said = "".join(w.text for w in question.words)
        for at in self._titles.get(said, ()):
            score[at] *= EXACT_TITLE
        if question.wants_list and not question.asks_detail:
            score[self._bundles & (in_head > 0)] *= BUNDLE_FOR_EVENT
        if audience is not None:
            score[~self._audiences.get(str(audience), np.zeros(size, dtype=bool))] = 0
        return self._best(score, said, concepts, limit)

    def _best(self, score: np.ndarray, said: str, concepts: list[Concept], limit: int) -> list[Hit]:
        found = np.flatnonzero(score > 0)
        if len(found) > RERANKED:
            found = found[np.argpartition(-score[found], RERANKED - 1)[:RERANKED]]
        ranked: list[tuple[float, int]] = []
        for at in found.tolist():
            value = float(score[at])
            if len(said) >= 2 and said in self._title_text[at] and said != self._title_text[at]:
                value *= PHRASE_IN_TITLE
            ranked.append((value, at))
        ranked.sort(key=lambda pair: (-pair[0], pair[1]))
        return [self._hit(at, value, concepts) for value, at in ranked[:limit]]

    def _hit(self, at: int, value: float, concepts: list[Concept]) -> Hit:
        matched: dict[str, float] = {}
        for concept in concepts:
            contributions = [
                (self._postings.score(w, at) * weight, w) for w, weight in concept.alternatives.items()
            ]
            best, word = max(contributions)
            if best > 0:
                matched[word] = max(best, matched.get(word, 0.0))
        doc = self._documents[at]
        why = tuple(sorted(matched, key=lambda w: -matched[w]))
        return Hit(doc.key, doc.kind, doc.title, round(value, 4), why)

    def _concepts(self, question: Question) -> list[Concept]:
        """What the question asks for, as alternatives of indexed words."""
        concepts: list[Concept] = []
        for run in _runs(question.words):
            if run[0].latin:
                concepts += self._spelled(run[0].text)
                continue
            at = 0
            while at < len(run):
                joined, end = self._window(run, at)
                if joined is not None:
                    concepts.append(joined)
                    at = end
                    continue
                concepts += self._word(run[at].text)
                at += 1
        # A word said twice is asked for once; past MAX_CONCEPTS a question is a pasted text, not a question.
        distinct: dict[tuple[str, ...], Concept] = {}
        for concept in concepts:
            if concept.alternatives:
                distinct.setdefault(tuple(sorted(concept.alternatives)), concept)
        return list(distinct.values())[:MAX_CONCEPTS]

    def _window(self, run: Sequence[Word], at: int) -> tuple[Concept | None, int]:
        """The longest run of words from ``at`` that is one vocabulary word, as written or as it sounds:
        jieba cuts 出生证明 and the misspelt 营业职照 (营业/职/照) into pieces."""
        ends: list[tuple[int, str]] = []
        text = run[at].text
        for end in range(at + 2, len(run) + 1):
            text += run[end - 1].text
            if len(text) > MAX_WINDOW_CHARS:
                break
            ends.append((end, text))
        for end, text in reversed(ends):
            found = {text: 1.0} if text in self._vocabulary else {}
            found = found or dict.fromkeys(self._sounds.homophones(text), HOMOPHONE)
            concept = self._concept(text, found)
            if concept.alternatives:
                return concept, end
        return None, at

    def _word(self, text: str) -> list[Concept]:
        if self._synonyms.related(text):
            return [self._concept(text, {text: 1.0})]
        if len(text) < 2:  # one character alone (证, 钱) says little, unless the synonym table knows it
            return []
        if text in self._postings:
            return [self._concept(text, {text: 1.0})]
        sounds = self._sounds.homophones(text)
        if sounds:
            return [self._concept(text, dict.fromkeys(sounds, HOMOPHONE))]
        near = self._sounds.near(text)
        if near:
            return [self._concept(text, dict.fromkeys(near, NEAR))]
        parts = [p for p in self._segmenter.subwords(text) if p in self._postings]
        return [self._concept(p, {p: PART}) for p in _outermost(parts)]

    def _spelled(self, letters: str) -> list[Concept]:
        if letters in self._postings:
            return [self._concept(letters, {letters: 1.0})]
        words = self._sounds.spelled(letters)
        return [self._concept(letters, dict.fromkeys(words, SPELLED))] if words else []

    def _concept(self, said: str, found: dict[str, float]) -> Concept:
        """The words found and their synonyms, kept where some document holds them."""
        alternatives: dict[str, float] = {}
        for word, weight in found.items():
            for alternative, share in ((word, 1.0), *((s, SYNONYM) for s in self._synonyms.related(word))):
                if alternative in self._postings and alternatives.get(alternative, 0.0) < weight * share:
                    alternatives[alternative] = weight * share
        strongest = sorted(alternatives.items(), key=lambda pair: -pair[1])[:MAX_ALTERNATIVES]
        return Concept(said, dict(strongest))


def _runs(words: Sequence[Word]) -> list[list[Word]]:
    """Words that touch in the question, Latin words alone: a window never spans a removed phrase."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and not word.latin and not runs[-1][-1].latin and runs[-1][-1].end == word.start:
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs


def _outermost(parts: list[str]) -> list[str]:
    """Sub-words not inside another of them (医学证明, not also 医学 and 证明)."""
    return [p for p in parts if not any(p != q and p in q for q in parts)]


def _squeeze(text: str) -> str:
    """A title as a question's words join up: punctuation and spaces gone."""
    return NOT_WORD.sub("", normalise(text))


def _check_keys(docs: Sequence[GuideDocument]) -> None:
    seen: set[str] = set()
    for doc in docs:
        if doc.key in seen:
            raise ValidationFailed(f"导办条目“{doc.key}”重复", code="guide_duplicate_key")
        seen.add(doc.key)
