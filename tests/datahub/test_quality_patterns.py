"""The compiled format matchers and the blank test agree with RE2 and Arrow on every input."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wanshi.datahub.quality.patterns import _FixedAscii, _RepeatedClass, blank, compile_format, full_match

# Han, Kangxi radicals (Han script in RE2), full-width digits, ASCII, white space, and characters beyond
# the BMP (an Extension B ideograph and an emoji) that the kernels must hand over to RE2.
ALPHABET = "王李张三丽⼀⼈０１9x013456789X-  \u3000\t𠀀😀éa"
texts = st.one_of(st.none(), st.text(ALPHABET, max_size=14))
PATTERNS = {
    r"1[3-9][0-9]{9}": _FixedAscii,
    r"[0-9]{6}": _FixedAscii,
    r"[A-Z]{2}\-[0-9]{3}": _FixedAscii,
    r"\p{Han}{2,4}": _RepeatedClass,
    r"\p{Han}+": _RepeatedClass,
    r"[^a]{3}": _RepeatedClass,
    r"\d{2,}": _RepeatedClass,
    r"[à-ö]+": _RepeatedClass,  # two-byte members
    r"[0-9]{2}[a-z]+": None,  # neither shape: RE2 decides
}


def reference(values: list[str | None], pattern: str) -> list[bool]:
    matched = pc.match_substring_regex(pa.array(values, pa.string()), f"^(?:{pattern})$")
    return [bool(v) for v in pc.fill_null(matched, False).to_pylist()]


@pytest.mark.parametrize(("pattern", "kind"), PATTERNS.items())
def test_each_pattern_gets_the_expected_matcher(pattern: str, kind: type | None) -> None:
    matcher = compile_format(pattern)
    compiled = isinstance(matcher, _FixedAscii | _RepeatedClass)
    assert isinstance(matcher, kind) if kind is not None else not compiled


@settings(max_examples=150)
@given(st.lists(texts, max_size=60), st.sampled_from(sorted(PATTERNS)))
def test_matchers_agree_with_re2(values: list[str | None], pattern: str) -> None:
    got = compile_format(pattern)(pa.array(values, pa.string())).tolist()
    assert got == reference(values, pattern)


PHONE = r"1[3-9][0-9]{9}"


@settings(max_examples=50)
@given(st.lists(st.from_regex(PHONE, fullmatch=True), min_size=100, max_size=200), st.integers(1, 99))
def test_fixed_width_matcher_on_sliced_arrays_with_nulls(values: list[str], cut: int) -> None:
    array = pa.array([*values[:cut], None, "1234", *values[cut:]], pa.string()).slice(1)
    assert compile_format(PHONE)(array).tolist() == reference(array.to_pylist(), PHONE)


def test_names_with_kangxi_radicals_and_extension_b() -> None:
    values = ["王丽", "⼀⼈", "𠀀王", "王丽A", "王", "王丽丽丽丽", None, ""]
    expected = [True, True, True, False, False, False, False, False]
    assert compile_format(r"\p{Han}{2,4}")(pa.array(values)).tolist() == expected


@settings(max_examples=150)
@given(st.lists(texts, max_size=60))
def test_blank_agrees_with_arrow(values: list[str | None]) -> None:
    array = pa.array(values, pa.string())
    expected = [v is None or v == "" or bool(pc.utf8_is_space(pa.scalar(v)).as_py()) for v in values]
    assert blank(array).tolist() == expected
    assert blank(array.slice(1)).tolist() == expected[1:]


def test_full_match_gives_false_for_nulls() -> None:
    assert full_match(pa.array(["12", None]), r"\d+").tolist() == [True, False]
    assert np.asarray(blank(pa.array([None, "  ", "\u3000", "a "]))).tolist() == [True, True, True, False]
