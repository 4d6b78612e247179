"""Which parts of a document are searched, and how much a word found in each counts.

Weights follow how surely a word in the field says what the service is: the title names it; keywords are the
words editors chose for citizens; what one comes away with (营业执照) is how many ask for it; a bundle's life
event is its subject. Themes group many services, so they say less; summaries, materials and conditions
mention much that the service is not about (every item asks for 身份证). A synonym found in the title
(see index.SYNONYM) still counts less than the word itself in the keywords.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator

from wanshi.items.guide.documents import GuideDocument
from wanshi.items.guide.postings import Field
from wanshi.items.guide.questions import STOP_WORDS
from wanshi.items.guide.segmenter import Segmenter

FIELDS = (
    Field("title", 3.0, 0.5),
    Field("keywords", 2.4, 0.3),
    Field("outcome", 2.0, 0.3),
    Field("life_event", 1.6, 0.0),
    Field("themes", 1.2, 0.3),
    Field("parts", 0.8, 0.5),
    Field("department", 0.5, 0.3),
    Field("questions", 0.5, 0.7),
    Field("summary", 0.5, 0.75),
    Field("materials", 0.4, 0.75),
    Field("conditions", 0.3, 0.75),
)
# Fields that say what a document is rather than what it mentions.
HEAD_FIELDS = ("title", "keywords", "outcome", "life_event")
# Fields that mention what a service needs or who runs it, not what it is: a question's word found only here
# counts half towards the question's coverage (every item asks for 身份证; that does not make it about one).
MENTION_FIELDS = ("materials", "conditions", "department")
# Fields whose words a misspelling is checked against: the words people ask by.
SOUND_FIELDS = (*HEAD_FIELDS, "themes", "materials", "parts")
# Whole phrases added to the segmenter's dictionary; longer titles are sentences, cut as such.
LONGEST_DICTIONARY_WORD = 12
CLAUSE = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def texts(doc: GuideDocument) -> dict[str, tuple[str, ...]]:
    return {
        "title": (doc.title,),
        "keywords": doc.keywords,
        "outcome": (doc.outcome,),
        "life_event": (doc.life_event,),
        "themes": doc.themes,
        "parts": doc.parts,
        "department": (doc.department,),
        "questions": doc.questions,
        "summary": (doc.summary,),
        "materials": doc.materials,
        "conditions": doc.conditions,
    }


def dictionary_words(doc: GuideDocument) -> Iterator[str]:
    """The phrases of a document that must stay one word (营业执照, 出生医学证明)."""
    for written in (doc.title, *doc.keywords, doc.outcome, doc.life_event, *doc.themes, *doc.materials):
        phrase = normalise(written).strip()
        if 2 <= len(phrase) <= LONGEST_DICTIONARY_WORD and " " not in phrase:
            yield phrase


class Counting:
    """Words of texts, counted, without function words and punctuation.

    Texts are cut clause by clause and each clause remembered: catalogues repeat materials, conditions,
    themes and the boilerplate of summaries (申请人可通过皖事通……提交申请), and jieba's cut is most of the
    time a build takes. Punctuation ends a word anyway, so cutting by clause changes nothing.
    """

    def __init__(self, segmenter: Segmenter) -> None:
        self._segmenter = segmenter
        self._clauses: dict[str, tuple[tuple[str, int], ...]] = {}
        self._texts: dict[str, tuple[tuple[str, int], ...]] = {}

    def words(self, text: str) -> tuple[tuple[str, int], ...]:
        counted = self._texts.get(text)
        if counted is None:
            total: dict[str, int] = {}
            for clause in CLAUSE.split(normalise(text)):
                for word, count in self._clause(clause) if clause else ():
                    total[word] = total.get(word, 0) + count
            counted = self._texts[text] = tuple(total.items())
        return counted

    def _clause(self, clause: str) -> tuple[tuple[str, int], ...]:
        counted = self._clauses.get(clause)
        if counted is None:
            words = self._segmenter.index_words(clause)
            kept = Counter(w for w in words if w not in STOP_WORDS and any(c.isalnum() for c in w))
            counted = self._clauses[clause] = tuple(kept.items())
        return counted

    def fields(self, doc: GuideDocument) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name, parts in texts(doc).items():
            counted: dict[str, int] = {}
            for part in parts:
                for word, count in self.words(part) if part else ():
                    counted[word] = counted.get(word, 0) + count
            if counted:
                out[name] = counted
        return out
