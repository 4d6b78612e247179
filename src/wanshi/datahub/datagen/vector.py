"""Vectorised building blocks: ASCII digit matrices, check characters and Arrow strings without Python loops
over rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Bytes = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
Bools = npt.NDArray[np.bool_]

_ZERO = ord("0")
MAX_CHUNK_ROWS = 20_000_000
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int32)
ID_CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_BYTES = np.frombuffer(USCC_CHARSET.encode(), dtype=np.uint8)
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int32)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int32)
# Byte -> value for 0-9 and A-Z (GB 11714) and byte -> value in the USCC charset; 255 elsewhere.
_DIGIT_VALUE = np.full(256, 255, dtype=np.int32)
_DIGIT_VALUE[_ZERO : _ZERO + 10] = np.arange(10)
_ALNUM_VALUE = np.full(256, 255, dtype=np.int32)
_ALNUM_VALUE[_ZERO : _ZERO + 10] = np.arange(10)
_ALNUM_VALUE[ord("A") : ord("Z") + 1] = np.arange(10, 36)
USCC_VALUE = np.full(256, 255, dtype=np.int32)
USCC_VALUE[USCC_BYTES] = np.arange(31)


def put_digits(matrix: Bytes, column: int, values: Ints, width: int) -> None:
    """Write `values` zero-padded into `width` ASCII columns starting at `column`."""
    remaining = values.astype(np.int64, copy=True)
    for position in range(column + width - 1, column - 1, -1):
        matrix[:, position] = remaining % 10 + _ZERO
        remaining //= 10


def put_text(matrix: Bytes, column: int, table: list[str], index: Ints) -> None:
    """Write fixed-width ASCII codes (all of one length) from `table` chosen by `index`."""
    width = len(table[0])
    lookup = np.frombuffer("".join(table).encode("ascii"), dtype=np.uint8).reshape(len(table), width)
    matrix[:, column : column + width] = lookup[index]


def resident_id_check(first17: Bytes) -> Bytes:
    """GB 11643 check characters for an (n, 17) matrix of ASCII digits."""
    return ID_CHECK_CHARS[_weighted_sum(first17, _ID_WEIGHTS, _DIGIT_VALUE) % 11]


def org_code_check(body8: Bytes) -> Bytes:
    """GB 11714 check characters for an (n, 8) matrix of ASCII 0-9/A-Z."""
    c = 11 - _weighted_sum(body8, _ORG_WEIGHTS, _ALNUM_VALUE) % 11
    chars = (c % 10 + _ZERO).astype(np.uint8)
    chars[c == 10] = ord("X")
    chars[c == 11] = _ZERO
    return chars


def credit_code_check(first17: Bytes) -> Bytes:
    """GB 32100 check characters for an (n, 17) matrix in the USCC charset."""
    return USCC_BYTES[(31 - _weighted_sum(first17, _USCC_WEIGHTS, USCC_VALUE) % 31) % 31]


def _weighted_sum(matrix: Bytes, weights: Int32s, values: Int32s) -> Ints:
    # Column by column in int32: a (n, 17) int64 copy for a matrix product costs ten times more.
    total = np.zeros(len(matrix), dtype=np.int32)
    for column, weight in enumerate(weights):
        total += values[matrix[:, column]] * weight
    return total.astype(np.int64)


def strings(matrix: Bytes, valid: Bools | None = None) -> pa.StringArray:
    """An Arrow string array over the rows of an (n, width) ASCII matrix, sharing its memory."""
    n, width = matrix.shape
    # Chunks are bounded (see MAX_CHUNK_ROWS), so 32-bit offsets always suffice.
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    array: pa.StringArray = pa.Array.from_buffers(
        pa.string(),
        n,
        [bitmap, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix))],
        null_count=-1,
    )
    return array


def pick(values: Sequence[str | None], index: Ints) -> pa.StringArray:
    result: pa.StringArray = pa.array(values, type=pa.string()).take(pa.array(index))
    return result


def concat(*parts: pa.Array) -> pa.StringArray:
    result: pa.StringArray = pc.binary_join_element_wise(*parts, "")
    return result


def dates(days: Ints) -> Bytes:
    """(n, 8) YYYYMMDD digits for days since 1970-01-01."""
    if len(days) == 0:
        return np.empty((0, 8), dtype=np.uint8)
    # Generated dates span a few decades: converting each distinct day once and gathering rows from that
    # small table is several times faster than converting every row.
    first = int(days.min())
    table = _date_table(np.arange(first, int(days.max()) + 1, dtype=np.int64))
    result: Bytes = table[days - first]
    return result


def _date_table(days: Ints) -> Bytes:
    as_date = days.astype("datetime64[D]")
    months = as_date.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (as_date - months).astype(np.int64) + 1
    matrix = np.empty((len(days), 8), dtype=np.uint8)
    put_digits(matrix, 0, year, 4)
    put_digits(matrix, 4, month, 2)
    put_digits(matrix, 6, day, 2)
    return matrix


def iso_dates(yyyymmdd: Bytes) -> Bytes:
    """(n, 10) YYYY-MM-DD from (n, 8) YYYYMMDD."""
    matrix = np.full((len(yyyymmdd), 10), ord("-"), dtype=np.uint8)
    matrix[:, 0:4] = yyyymmdd[:, 0:4]
    matrix[:, 5:7] = yyyymmdd[:, 4:6]
    matrix[:, 8:10] = yyyymmdd[:, 6:8]
    return matrix


def replace_rows(array: pa.Array, rows: Ints, values: Sequence[object] | pa.Array) -> pa.Array:
    """`array` with the given rows replaced (rows may be in any order)."""
    if len(rows) == 0:
        return array
    # A gather from the array followed by the replacements is several times faster than replace_with_mask.
    index = np.arange(len(array), dtype=np.int64)
    index[rows] = len(array) + np.arange(len(rows))
    replacement = (
        values.cast(array.type) if isinstance(values, pa.Array) else pa.array(values, type=array.type)
    )
    combined = pa.concat_arrays([array, replacement])
    result: pa.Array = combined.take(pa.array(index))
    return result
