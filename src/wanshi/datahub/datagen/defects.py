"""Injected, labelled defects: which rows get which defect, and the defects done on text columns.

Each defective row names its defect in the ``defect`` column; duplicates also name the record they copy in
``duplicate_of``, so quality rules and record linkage can be scored against the labels. A near-duplicate
differs from the record it copies the way another department's record of the same person or enterprise
does (a mistyped or missing ID number, a renamed enterprise, a new phone...): see ``PERSON_NEAR_MIX`` and
``ENTERPRISE_NEAR_MIX`` for the kinds and their shares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from wanshi.datahub.datagen import tables
from wanshi.datahub.datagen.vector import Bytes, Ints, pick, put_digits, replace_rows

ID_CHECK_CHAR = "id_check_char"
ID_BIRTH_MISMATCH = "id_birth_mismatch"
INVALID_DATE = "invalid_date"
UNKNOWN_DIVISION = "unknown_division"
FULLWIDTH_DIGITS = "fullwidth_digits"
KANGXI_RADICAL = "kangxi_radical"
WHITESPACE = "whitespace"
MISSING_REQUIRED = "missing_required"
DUPLICATE_EXACT = "duplicate_exact"
NEAR_DUPLICATE = "near_duplicate"
USCC_CHECK_CHAR = "uscc_check_char"

ALL_DEFECTS = (
    ID_CHECK_CHAR,
    ID_BIRTH_MISMATCH,
    INVALID_DATE,
    UNKNOWN_DIVISION,
    FULLWIDTH_DIGITS,
    KANGXI_RADICAL,
    WHITESPACE,
    MISSING_REQUIRED,
    DUPLICATE_EXACT,
    NEAR_DUPLICATE,
    USCC_CHECK_CHAR,
)
POPULATION_DEFECTS = ALL_DEFECTS[:10]
LEGAL_PERSON_DEFECTS = (
    USCC_CHECK_CHAR,
    INVALID_DATE,
    UNKNOWN_DIVISION,
    FULLWIDTH_DIGITS,
    KANGXI_RADICAL,
    WHITESPACE,
    MISSING_REQUIRED,
    DUPLICATE_EXACT,
    NEAR_DUPLICATE,
)
# Duplicates copy clean rows, so at least half of the rows must stay clean.
MAX_DEFECT_RATE = 0.5

_FULLWIDTH = str.maketrans({ch: chr(ord(ch) + 0xFEE0) for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
# Common given-name characters that are also Kangxi radicals, for names that have none of their own.
_RADICAL_NAME_CHARS = "文立心月一子玉山生小"
_PADDING = (" ", "  ", "\u3000", "\t")

# How another department's record of the same person differs (shares of near-duplicates, documented in
# docs/masterdata.md). ID kinds: one digit mistyped (the check character is then wrong), two adjacent
# characters swapped, the 15-digit ID of before 1999 (people born in the 1900s; others get a swap
# instead), no ID at all (name, birth date, sex and division still there).
ID_TYPO = "id_typo"
ID_TRANSPOSED = "id_transposed"
ID_OLD15 = "id_old15"
ID_MISSING = "id_missing"
NAME_VARIANT = "name_variant"  # a Kangxi radical or padding (both fold away), or one character mistyped
PHONE_CHANGED = "phone_changed"
MOVED = "moved"  # another address in another county, and that county as household division
PERSON_NEAR_MIX = {
    ID_TYPO: 0.20,
    ID_TRANSPOSED: 0.10,
    ID_OLD15: 0.10,
    ID_MISSING: 0.15,
    NAME_VARIANT: 0.25,
    PHONE_CHANGED: 0.10,
    MOVED: 0.10,
}
PERSON_ID_KINDS = (ID_TYPO, ID_TRANSPOSED, ID_OLD15, ID_MISSING)
# Share of the near-duplicates with an ID problem whose name differs as well.
ALSO_NAME_SHARE = 0.2
# Whatever their kind, near-duplicates come from departments that often keep no phone (except those whose
# kind is a new phone) or write the address without its city (“瑶海区…” for “合肥市瑶海区…”).
NO_PHONE_SHARE = 0.3
SHORT_ADDRESS_SHARE = 0.3
CODE_TYPO = "code_typo"  # one character of the credit code mistyped (the check character is then wrong)
CODE_MISSING = "code_missing"
RENAMED = (
    "renamed"  # 有限公司/有限责任公司, a bracketed branch, the city prefix dropped, a mistyped character
)
ENTERPRISE_NEAR_MIX = {CODE_TYPO: 0.30, CODE_MISSING: 0.20, RENAMED: 0.50}
# Share of the near-duplicates with a credit code problem whose name is written differently as well.
ALSO_RENAMED_SHARE = 0.5


@dataclass(frozen=True)
class Plan:
    codes: Ints  # index into ALL_DEFECTS, -1 for a clean row

    def rows(self, defect: str) -> Ints:
        result: Ints = np.flatnonzero(self.codes == ALL_DEFECTS.index(defect))
        return result


def plan(rng: np.random.Generator, n: int, rate: float, kinds: tuple[str, ...]) -> Plan:
    codes = np.full(n, -1, dtype=np.int64)
    if rate <= 0:
        return Plan(codes)
    chosen = np.flatnonzero(rng.random(n) < rate)
    indexes = np.array([ALL_DEFECTS.index(k) for k in kinds])
    codes[chosen] = indexes[rng.integers(0, len(indexes), size=len(chosen))]
    return Plan(codes)


def invalid_dates(rng: np.random.Generator, yyyymmdd: Bytes) -> Bytes:
    """The same years with impossible month-days: 02-30, month 13, day 00, or the 31st of a 30-day month."""
    result = yyyymmdd.copy()
    n = len(result)
    variant = rng.integers(0, 4, size=n)
    month = np.where(variant == 1, 13, rng.choice([4, 6, 9, 11], size=n))
    month = np.where(variant == 0, 2, month)
    day = np.select(
        [variant == 0, variant == 2, variant == 3], [30, 0, 31], default=1 + rng.integers(0, 28, n)
    )
    put_digits(result, 4, month, 2)
    put_digits(result, 6, day, 2)
    return result


def fullwidth(value: str) -> str:
    return value.translate(_FULLWIDTH)


def kangxi(rng: np.random.Generator, name: str) -> str:
    radicals = tables.kangxi_radicals()
    if not any(ch in radicals for ch in name):
        position = len(name) - 1
        name = name[:position] + _RADICAL_NAME_CHARS[int(rng.integers(len(_RADICAL_NAME_CHARS)))]
    return "".join(radicals.get(ch, ch) for ch in name)


def pad(rng: np.random.Generator, value: str) -> str:
    space = _PADDING[int(rng.integers(len(_PADDING)))]
    where = int(rng.integers(3))
    return f"{space}{value}" if where == 0 else f"{value}{space}" if where == 1 else f"{space}{value}{space}"


def typo(rng: np.random.Generator, name: str) -> str:
    """One character replaced by a similar-sounding one (or any name character when none is known)."""
    homophones: dict[str, str] = tables.words()["homophones"]
    positions = [i for i, ch in enumerate(name) if ch in homophones]
    if positions:
        i = positions[int(rng.integers(len(positions)))]
        return name[:i] + homophones[name[i]] + name[i + 1 :]
    return mistype(rng, name, len(name) - 1)


def mistype(rng: np.random.Generator, name: str, position: int | None = None) -> str:
    """One character (at ``position``, else anywhere) replaced by another name character, whatever it
    sounds like: a slip of the keyboard rather than a homophone."""
    chars = tables.given_names().chars
    i = int(rng.integers(len(name))) if position is None else position
    replacement = chars[int(rng.integers(len(chars)))]
    if replacement == name[i]:
        replacement = chars[(chars.index(replacement) + 1) % len(chars)]
    return name[:i] + replacement + name[i + 1 :]


def name_variant(rng: np.random.Generator, name: str) -> str:
    """The same name written another way: a Kangxi radical (when it has a character that has one) or
    padding, both gone after normalisation, or one character mistyped."""
    kind = int(rng.integers(3))
    if kind == 0 and any(ch in tables.kangxi_radicals() for ch in name):
        return kangxi(rng, name)
    if kind == 2:
        return mistype(rng, name)
    return pad(rng, name)


@dataclass(frozen=True)
class Duplicates:
    """The rows that become duplicates and the clean rows they copy."""

    exact: Ints
    near: Ints
    exact_sources: Ints
    near_sources: Ints

    def index(self, n: int) -> Ints:
        """Row -> the row it takes its values from (itself unless it is a duplicate)."""
        index = np.arange(n, dtype=np.int64)
        index[self.exact] = self.exact_sources
        index[self.near] = self.near_sources
        return index

    def take(self, columns: dict[str, pa.Array], n: int) -> dict[str, pa.Array]:
        if not len(self.exact) and not len(self.near):
            return columns
        index = pa.array(self.index(n))
        return {name: column.take(index) for name, column in columns.items()}


def duplicates(rng: np.random.Generator, defects: Plan) -> Duplicates:
    exact, near = defects.rows(DUPLICATE_EXACT), defects.rows(NEAR_DUPLICATE)
    if not len(exact) and not len(near):
        empty = np.empty(0, dtype=np.int64)
        return Duplicates(exact, near, empty, empty)
    clean = np.flatnonzero(defects.codes < 0)
    sources = clean[rng.integers(0, len(clean), size=len(exact) + len(near))]
    return Duplicates(exact, near, sources[: len(exact)], sources[len(exact) :])


def near_kinds(rng: np.random.Generator, count: int, mix: dict[str, float]) -> npt.NDArray[np.str_]:
    """A kind from ``mix`` for each of ``count`` near-duplicates, drawn with the mix's shares."""
    kinds = np.array(list(mix))
    p = np.array(list(mix.values()), dtype=np.float64)
    result: npt.NDArray[np.str_] = kinds[rng.choice(len(kinds), size=count, p=p / p.sum())]
    return result


def mistype_digits(rng: np.random.Generator, matrix: Bytes, width: int) -> None:
    """One of the first ``width`` ASCII digits of every row replaced by another digit, in place."""
    rows = np.arange(len(matrix))
    position = rng.integers(0, width, size=len(matrix))
    digit = matrix[rows, position].astype(np.int64) - ord("0")
    matrix[rows, position] = ((digit + rng.integers(1, 10, size=len(matrix))) % 10 + ord("0")).astype(
        np.uint8
    )


def transpose_adjacent(rng: np.random.Generator, matrix: Bytes, width: int) -> None:
    """Two adjacent different characters among the first ``width`` of every row swapped, in place (rows
    whose characters are all the same are left alone)."""
    differ = matrix[:, : width - 1] != matrix[:, 1:width]
    position = np.argmax(rng.random(differ.shape) * differ, axis=1)
    rows = np.flatnonzero(differ.any(axis=1))
    position = position[rows]
    left = matrix[rows, position].copy()
    matrix[rows, position] = matrix[rows, position + 1]
    matrix[rows, position + 1] = left


def apply_text_defects(
    rng: np.random.Generator,
    defects: Plan,
    columns: dict[str, pa.Array],
    record_id: Ints,
    found: Duplicates,
    required: tuple[str, ...],
    schema: pa.Schema,
    *,
    code_column: str,
    kangxi_column: str = "name",
) -> pa.Table:
    """The defects done on strings, and the labels; returns the table with ``defect`` and ``duplicate_of``.

    Duplicates already hold their source's values (and near-duplicates their differences): here they get
    their labels, an exact copy the record id of its source too.
    """
    n = len(record_id)
    record_id = record_id.copy()
    duplicate_of = np.zeros(n, dtype=np.int64)
    duplicate_of[found.exact] = record_id[found.exact_sources]
    duplicate_of[found.near] = record_id[found.near_sources]
    record_id[found.exact] = record_id[found.exact_sources]
    # New values per column and row, applied once at the end: each application copies the whole column.
    pending: dict[str, dict[int, object]] = {column: {} for column in columns}

    def edit(column: str, rows: Ints, change: Callable[[str], str]) -> None:
        values = columns[column].take(pa.array(rows, type=pa.int64())).to_pylist()
        pending[column].update(zip(rows.tolist(), [change(v) for v in values], strict=True))

    edit(code_column, defects.rows(FULLWIDTH_DIGITS), fullwidth)
    edit(kangxi_column, defects.rows(KANGXI_RADICAL), lambda v: kangxi(rng, v))
    rows = defects.rows(WHITESPACE)
    on_code = rng.random(len(rows)) < 0.3
    edit("name", rows[~on_code], lambda v: pad(rng, v))
    edit(code_column, rows[on_code], lambda v: pad(rng, v))

    rows = defects.rows(MISSING_REQUIRED)
    which = rng.integers(0, len(required), size=len(rows))
    for i, column in enumerate(required):
        chosen = rows[which == i]
        pending[column].update(dict.fromkeys(chosen.tolist()))

    for column, changed in pending.items():
        if changed:
            columns[column] = replace_rows(
                columns[column], np.fromiter(changed, dtype=np.int64), list(changed.values())
            )

    codes = defects.codes
    columns["record_id"] = pa.array(record_id)
    columns["defect"] = pick((*ALL_DEFECTS, None), np.where(codes < 0, len(ALL_DEFECTS), codes))
    columns["duplicate_of"] = pa.array(duplicate_of, mask=duplicate_of == 0)
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)
