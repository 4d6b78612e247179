"""Fixtures of the guide's tests: one segmenter caching in a temporary directory, indexes built once."""

from __future__ import annotations

import pytest
from guide_catalogue import CATALOGUE

from wanshi.items.guide import Bm25Index, GuideIndex, Segmenter, Synonyms


@pytest.fixture(scope="session")
def segmenter(tmp_path_factory: pytest.TempPathFactory) -> Segmenter:
    return Segmenter(tmp_path_factory.mktemp("jieba"))


@pytest.fixture(scope="session")
def guide(segmenter: Segmenter) -> GuideIndex:
    return GuideIndex.build(CATALOGUE, Synonyms.standard(), segmenter=segmenter)


@pytest.fixture(scope="session")
def baseline(segmenter: Segmenter) -> Bm25Index:
    return Bm25Index.build(CATALOGUE, segmenter=segmenter)
