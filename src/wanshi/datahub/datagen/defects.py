"""Injected, labelled defects: which rows get which defect, and the defects done on text columns.

Each defective row names its defect in the ``defect`` column; duplicates also name the record they copy in
``duplicate_of``, so quality rules and record linkage can be scored against the labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
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
    chars = tables.given_names().chars
    i = len(name) - 1
    replacement = chars[int(rng.integers(len(chars)))]
    if replacement == name[i]:
        replacement = chars[(chars.index(replacement) + 1) % len(chars)]
    return name[:i] + replacement + name[i + 1 :]


def apply_text_defects(
    rng: np.random.Generator,
    defects: Plan,
    columns: dict[str, pa.Array],
    record_id: Ints,
    required: tuple[str, ...],
    schema: pa.Schema,
    *,
    code_column: str,
    variant: tuple[str, Callable[[int], pa.Array]] | None = None,
    kangxi_column: str = "name",
    rename: Callable[[np.random.Generator, str], str] | None = None,
) -> pa.Table:
    """Duplicates, then the defects done on strings; returns the table with ``defect`` and ``duplicate_of``.

    ``variant`` names a column and a sampler of fresh values for it: half of the near-duplicates get a fresh
    value there (a different phone, say) instead of a typo in the name, when the original has a value.
    """
    n = len(record_id)
    record_id = record_id.copy()
    duplicate_of = np.zeros(n, dtype=np.int64)
    # New values per column and row, applied once at the end: each application copies the whole column.
    pending: dict[str, dict[int, object]] = {column: {} for column in columns}

    def current(column: str, rows: Ints) -> list[Any]:
        original = columns[column].take(pa.array(rows, type=pa.int64())).to_pylist()
        changed = pending[column]
        return [changed.get(row, value) for row, value in zip(rows.tolist(), original, strict=True)]

    def put(column: str, rows: Ints, values: list[Any]) -> None:
        pending[column].update(zip(rows.tolist(), values, strict=True))

    def edit(column: str, rows: Ints, change: Callable[[str], str]) -> None:
        put(column, rows, [change(v) for v in current(column, rows)])

    exact, near = defects.rows(DUPLICATE_EXACT), defects.rows(NEAR_DUPLICATE)
    if len(exact) or len(near):
        clean = np.flatnonzero(defects.codes < 0)
        copies = np.r_[exact, near]
        sources = clean[rng.integers(0, len(clean), size=len(copies))]
        for column in columns:
            put(column, copies, current(column, sources))
        duplicate_of[copies] = record_id[sources]
        record_id[exact] = record_id[sources[: len(exact)]]

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
        put(column, chosen, [None] * len(chosen))

    use_fresh = np.zeros(len(near), dtype=np.bool_)
    if variant is not None and len(near):
        column, sample = variant
        has_value = np.array([v is not None for v in current(column, near)], dtype=np.bool_)
        use_fresh = (rng.random(len(near)) < 0.5) & has_value
        chosen = near[use_fresh]
        put(column, chosen, sample(len(chosen)).to_pylist())
    change = rename or typo
    edit("name", near[~use_fresh], lambda v: change(rng, v))

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
