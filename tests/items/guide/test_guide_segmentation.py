"""Segmentation: a private jieba tokenizer that keeps the catalogue's words whole and loads nothing early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wanshi.items.guide import GuideIndex, Segmenter


def test_item_words_stay_whole(segmenter: Segmenter, guide: GuideIndex) -> None:
    assert "营业执照" in segmenter.cut("我要办营业执照")
    assert "出生医学证明" in segmenter.cut("孩子的出生医学证明丢了")
    assert "生育服务证" in segmenter.cut("生育服务证在哪办")


def test_synonym_words_are_dictionary_words(segmenter: Segmenter, guide: GuideIndex) -> None:
    assert "上户口" in segmenter.cut("孩子上户口")
    assert "生娃" in segmenter.cut("生娃以后")


def test_index_words_add_the_parts_of_long_words(segmenter: Segmenter, guide: GuideIndex) -> None:
    words = segmenter.index_words("出生医学证明签发")
    assert {"出生医学证明", "出生", "医学", "证明"} <= set(words)


def test_the_tokenizer_is_private_and_caches_where_told(segmenter: Segmenter, guide: GuideIndex) -> None:
    import jieba  # type: ignore[import-untyped]

    assert segmenter.tokenizer is not jieba.dt
    assert jieba.dt.FREQ.get("营业执照核发（个体工商户）") is None
    assert list(Path(segmenter.tokenizer.tmp_dir).glob("jieba*.cache"))


def test_a_default_segmenter_leaves_no_cache_behind(tmp_path: Path) -> None:
    script = (
        "import tempfile, pathlib, sys\n"
        f"tempfile.tempdir = {str(tmp_path)!r}\n"
        "from wanshi.items.guide import Segmenter\n"
        "assert Segmenter().cut('营业执照') \n"
        "print(sorted(p.name for p in pathlib.Path(tempfile.tempdir).iterdir()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert "Building prefix dict" not in done.stderr


def test_importing_the_guide_loads_no_dictionary() -> None:
    script = (
        "import sys, wanshi.items.guide\n"
        "print(sorted(m for m in ('jieba', 'pypinyin', 'rapidfuzz') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
