"""Vectorised identifier checks over Arrow string buffers: numpy on the raw bytes, no per-row Python.

A value passes only in its canonical form (ASCII, upper-case X, no spaces): full-width digits from a
Chinese input method are a defect in stored data even though forms normalise them on entry. On that
form the results equal those of the scalar validators in ``wanshi.kernel.identifiers``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int32]
_WIDTH = 18
_ZERO = ord("0")
_RESIDENT_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int32)
# Check character per (sum mod 11), as the byte that must stand in position 18.
_RESIDENT_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = np.array((1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28), dtype=np.int32)
_ORG_WEIGHTS = np.array((3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int32)
_INVALID = 255
_LAST_MONTH_DAY = 1231
_LEAP_DAY = 229


def _month_days() -> Bools:
    """Which MMDD numbers are days of some year (29 February included; leap years are checked apart)."""
    days = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    table = np.zeros(_LAST_MONTH_DAY + 1, dtype=np.bool_)
    for month, last in enumerate(days, start=1):
        table[month * 100 + 1 : month * 100 + last + 1] = True
    return table


_MONTH_DAYS = _month_days()


def _lookup(alphabet: str) -> npt.NDArray[np.uint8]:
    table = np.full(256, _INVALID, dtype=np.uint8)
    for value, ch in enumerate(alphabet):
        table[ord(ch)] = value
    return table


_CREDIT_VALUES = _lookup(_CREDIT_CHARSET)
# GB 11714 gives letters 10–35 in plain alphabetical order, unlike the credit-code charset.
_ALNUM_VALUES = _lookup("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ORG_CHECK = np.frombuffer(b"0X987654321", dtype=np.uint8)  # index: sum mod 11 -> 11 - that, 10 X, 11 0


def fixed_width_bytes(
    array: pa.Array | pa.ChunkedArray, width: int = _WIDTH
) -> tuple[npt.NDArray[np.uint8], Bools]:
    """The values as an (n, width) uint8 matrix and a mask of the rows that are non-null and width bytes long.

    Rows outside the mask hold zero bytes. When every value has the width (the usual case) the matrix is a
    view of the Arrow data buffer, no copy.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_string(array.type):
        # DuckDB may hand over string_view or large_string; one cast gives the int32-offset layout.
        array = array.cast(pa.string())
    n = len(array)
    if n == 0:
        return np.zeros((0, width), dtype=np.uint8), np.zeros(0, dtype=np.bool_)
    offsets, data = _buffers(array)
    ok = np.diff(offsets) == width
    if array.null_count:
        ok &= valid_mask(array)
    if bool(ok.all()):
        first = int(offsets[0])
        return data[first : first + n * width].reshape(n, width), ok
    bad = np.flatnonzero(~ok)
    if len(bad) > n // 64:
        # Many odd rows: Arrow rewrites the column once with a placeholder in them (C++, one pass), an
        # order of magnitude faster than gathering the good rows' bytes with numpy fancy indexing.
        array = pc.if_else(pa.array(ok), array, pa.scalar("\0" * width))
        offsets, data = _buffers(array)
        first = int(offsets[0])
        return data[first : first + n * width].reshape(n, width), ok
    # A few odd rows (nulls, typos): the good rows between them lie back to back in the buffer, so each
    # run is one block copy.
    matrix = np.zeros((n, width), dtype=np.uint8)
    starts = np.concatenate(([0], bad + 1))
    ends = np.concatenate((bad, [n]))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if end > start:
            at = int(offsets[start])
            matrix[start:end] = data[at : at + (end - start) * width].reshape(-1, width)
    return matrix, ok


def _buffers(array: pa.Array) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=len(array) + 1, offset=array.offset * 4)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


@dataclass(frozen=True)
class ResidentFacts:
    """What one pass over a column of 居民身份证号码 establishes, shared by the checksum rule and the
    cross-field rules on the same column so that the digits are parsed once per batch."""

    digits: Bools  # non-null, 18 bytes, the first 17 ASCII digits
    valid: Bools  # digits, the check character, and a real birth date not after today
    birth: Ints  # YYYYMMDD of positions 7–14, meaningful where ``digits``
    sex_digit: npt.NDArray[np.uint8]  # the value of position 17, meaningful where ``digits``
    # With ``with_keys``: each value of the form [0-9]{17}[0-9X] as one integer below 2^63 (17 digits times
    # 11 plus the check character), exact and one-to-one, so uniqueness needs no hashing; ``canonical``
    # marks the rows of that form.
    keys: npt.NDArray[np.uint64] | None = None
    canonical: Bools | None = None


def resident_id_facts(
    array: pa.Array | pa.ChunkedArray, *, today: date, with_keys: bool = False
) -> ResidentFacts:
    matrix, ok = fixed_width_bytes(array)
    # Position-major rows make every step below a contiguous pass over n values (3-10x faster than
    # strided columns or numpy's integer matmul, which does not use BLAS).
    digits = np.ascontiguousarray(matrix[:, :17].T) - np.uint8(_ZERO)
    ok &= digits.max(axis=0) <= 9  # uint8 wrap-around sends every non-digit above 9
    total = np.zeros(len(ok), dtype=np.uint16)  # at most 9 x 100: no overflow
    for position, weight in enumerate(_RESIDENT_WEIGHTS):
        total += digits[position] * np.uint16(weight)
    year, month_day = _number(digits[6:10]), _number(digits[10:14])
    birth = year * np.int32(10000) + month_day
    valid = ok & (_RESIDENT_CHECK[total % np.uint16(11)] == matrix[:, 17]) & _real_dates(year, month_day)
    facts = ResidentFacts(ok, valid & (birth <= _stamp(today)), birth, digits[16])
    if not with_keys:
        return facts
    last = matrix[:, 17]
    check = np.where(last == ord("X"), np.uint8(10), last - np.uint8(_ZERO))
    keys = np.zeros(len(ok), dtype=np.uint64)
    for row in digits:
        keys = keys * np.uint64(10) + row
    return dataclasses.replace(facts, keys=keys * np.uint64(11) + check, canonical=ok & (check <= 10))


def resident_id_valid(array: pa.Array | pa.ChunkedArray, *, today: date) -> Bools:
    """True where the value is a valid 18-character 居民身份证号码 (GB 11643): 17 digits, a real birth
    date not after ``today`` and the MOD 11-2 check character. Nulls and other lengths are False."""
    return resident_id_facts(array, today=today).valid


def _number(digits: npt.NDArray[np.uint8]) -> Ints:
    value = np.zeros(digits.shape[1], dtype=np.int32)
    for row in digits:
        value = value * np.int32(10) + row
    return value


def _stamp(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


_LEAP_YEARS = np.array([(y % 4 == 0 and y % 100 != 0) or y % 400 == 0 for y in range(10000)], dtype=np.bool_)


def _real_dates(year: Ints, month_day: Ints) -> Bools:
    """Which (year, MMDD) pairs of four-digit numbers are days of the Gregorian calendar from year 1."""
    ok = (year >= 1) & (month_day <= _LAST_MONTH_DAY) & _MONTH_DAYS[np.minimum(month_day, _LAST_MONTH_DAY)]
    # Rows with non-digits hold larger numbers: invalid anyway, the clamp only keeps the index in range.
    real: Bools = ok & (_LEAP_YEARS[np.minimum(year, 9999)] | (month_day != _LEAP_DAY))
    return real


def credit_code_valid(array: pa.Array | pa.ChunkedArray, *, check_org_code: bool = True) -> Bools:
    """True where the value is a valid 统一社会信用代码 (GB 32100): 18 characters of its charset, the
    MOD 31 check character and (unless ``check_org_code`` is off) the 组织机构代码 check in positions 9–17.
    Nulls and other lengths are False."""
    matrix, ok = fixed_width_bytes(array)
    chars = np.ascontiguousarray(matrix.T)
    values = _CREDIT_VALUES[chars]
    ok &= values.max(axis=0) != _INVALID
    total = np.zeros(len(ok), dtype=np.uint16)  # at most 30 x 299: no overflow
    for position, weight in enumerate(_CREDIT_WEIGHTS):
        total += values[position] * np.uint16(weight)
    ok &= (np.uint16(31) - total % np.uint16(31)) % np.uint16(31) == values[17]
    if check_org_code:
        body = _ALNUM_VALUES[chars[8:16]]
        org_total = np.zeros(len(ok), dtype=np.uint16)
        for position, weight in enumerate(_ORG_WEIGHTS):
            org_total += body[position] * np.uint16(weight)
        ok &= _ORG_CHECK[org_total % np.uint16(11)] == chars[16]
    return ok


def null_mask(array: pa.Array | pa.ChunkedArray) -> Bools:
    return ~valid_mask(array)


def valid_mask(array: pa.Array | pa.ChunkedArray) -> Bools:
    """True where the value is not null, from the validity bitmap (no bitmap: all valid)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    bitmap = array.buffers()[0]
    if bitmap is None or not array.null_count:
        return np.ones(len(array), dtype=np.bool_)
    return _unpack(bitmap, array.offset, len(array))


def bool_values(array: pa.Array | pa.ChunkedArray, *, null: bool) -> Bools:
    """A boolean array as numpy, nulls given as ``null``. Unpacks the bitmaps directly: pyarrow's
    to_numpy takes a slow path for some arrays (measured 40x slower on results of is_valid)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    values = _unpack(array.buffers()[1], array.offset, len(array))
    if array.null_count:
        return np.where(valid_mask(array), values, null)
    return values


def _unpack(buffer: pa.Buffer, offset: int, n: int) -> Bools:
    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), count=offset + n, bitorder="little")
    return bits[offset:].view(np.bool_)


def packed(array: pa.Array | pa.ChunkedArray, width: int) -> tuple[npt.NDArray[np.uint64], Bools]:
    """Values of ``width`` bytes (at most 8) as one integer each, big-endian, with the mask of the rows that
    are non-null and that long: equal values of that width give equal integers and no others do."""
    matrix, ok = fixed_width_bytes(array, width)
    keys = np.zeros(len(ok), dtype=np.uint64)
    for column in matrix.T:
        keys = (keys << np.uint64(8)) | column
    return keys, ok


_FEW_CODES = 4  # measured: beyond this, Arrow's hash set beats one integer comparison per code


def in_codes(array: pa.Array | pa.ChunkedArray, codes: list[str]) -> Bools | None:
    """Whether each value is one of a few ``codes`` (sex, yes/no flags), by integer comparison when all
    have the same UTF-8 length of at most 8 bytes; None when that does not apply."""
    encoded = {code.encode() for code in codes}
    widths = {len(code) for code in encoded}
    if len(encoded) > _FEW_CODES or len(widths) != 1 or not 0 < (width := widths.pop()) <= 8:
        return None
    keys, ok = packed(array, width)
    found = np.zeros(len(ok), dtype=np.bool_)
    for code in encoded:
        found |= keys == np.uint64(int.from_bytes(code, "big"))
    return ok & found
