"""The smart guide (智能导办): search over service items and 一件事 bundles in citizens' words.

Pure Python, no database and no web: the catalogue builds ``GuideDocument`` values and a ``GuideIndex``;
``Bm25Index`` is the plain baseline the guide is measured against. Importing this package loads nothing:
jieba's dictionary and pypinyin load on the first build.
"""

from wanshi.items.guide.baseline import Bm25Index
from wanshi.items.guide.documents import GuideDocument
from wanshi.items.guide.evaluation import Case, Evaluation, Miss, evaluate
from wanshi.items.guide.index import GuideIndex, Hit
from wanshi.items.guide.segmenter import Segmenter
from wanshi.items.guide.synonyms import Synonyms

__all__ = [
    "Bm25Index",
    "Case",
    "Evaluation",
    "GuideDocument",
    "GuideIndex",
    "Hit",
    "Miss",
    "Segmenter",
    "Synonyms",
    "evaluate",
]
