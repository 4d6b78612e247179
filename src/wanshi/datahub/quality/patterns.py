"""Format rules compiled to byte-table kernels where the pattern allows, RE2 everywhere else.

Most format rules in government data are one of two shapes, and both can be decided without a regular
expression engine, several times faster than RE2 row by row:

* fixed-width ASCII codes such as ``1[3-9][0-9]{9}`` (mobile numbers) or ``[0-9]{6}`` (postcodes): a
  lookup table per byte position over the fixed-width view of the column;
* one character class repeated, such as ``\\p{Han}{2,4}`` (names): every character of the UTF-8 buffer
  is decoded at once and looked up, and a row passes when all its characters are members and their
  count is in range.

The membership of each character class is taken from RE2 itself (the class is matched against every
code point of the Basic Multilingual Plane once), so the kernels agree with ``regexp_full_match`` by
construction; rows the kernels cannot decide (characters outside the BMP) go to RE2.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from wanshi.datahub.quality.kernels import bool_values, fixed_width_bytes, valid_mask

Bools = npt.NDArray[np.bool_]
Matcher = Callable[[pa.Array], Bools]

# One character: a Unicode property, a shorthand class, a bracketed class, an escaped or a plain literal.
_ATOM = r"\\[pP]\{[A-Za-z_]+\}|\\[dDwWsS]|\[\^?\]?(?:\\.|[^\]\\])*\]|\\[^A-Za-z0-9]|[^.^$|?*+()\[\]{}\\]"
_QUANTIFIER = r"\{(\d+)(?:(,)(\d*))?\}|[+*?]"
_TOKEN = re.compile(rf"({_ATOM})(?:{_QUANTIFIER})?")
_REPEAT = re.compile(rf"({_ATOM})(\{{(\d+)(?:(,)(\d*))?\}}|[+*])")
_BMP = 0x10000
_SURROGATES = range(0xD800, 0xE000)
_ASCII = 0x80


def full_match(values: pa.Array, pattern: str) -> Bools:
    """RE2 over every row: True where the whole value matches. Nulls give False."""
    matched = pc.match_substring_regex(values, f"^(?:{pattern})$")
    return bool_values(matched, null=False)


def compile_format(pattern: str) -> Matcher:
    """The fastest exact matcher for ``pattern`` (anchored at both ends)."""
    return _fixed_ascii(pattern) or _repeated_class(pattern) or (lambda values: full_match(values, pattern))


@lru_cache(maxsize=256)
def _members(atom: str) -> Bools:
    """Which BMP code points the one-character pattern ``atom`` matches, according to RE2."""
    points = [p for p in range(_BMP) if p not in _SURROGATES]
    chars = pa.array([chr(p) for p in points], pa.string())
    table = np.zeros(_BMP, dtype=np.bool_)
    table[np.asarray(points)] = full_match(chars, atom)
    return table


def _fixed_ascii(pattern: str) -> Matcher | None:
    position = 0
    tables: list[Bools] = []
    while position < len(pattern):
        token = _TOKEN.match(pattern, position)
        if token is None or token.group(0)[len(token.group(1)) :] in ("+", "*", "?") or token.group(3):
            return None  # not a fixed-width sequence
        count = int(token.group(2)) if token.group(2) else 1
        members = _members(token.group(1))
        if members[_ASCII:].any():
            return None  # matches non-ASCII characters, so widths vary
        tables += [members[:256]] * count
        position = token.end()
    return _FixedAscii(tuple(tables)) if tables else None


@dataclass(frozen=True)
class _FixedAscii:
    tables: tuple[Bools, ...]

    def __call__(self, values: pa.Array) -> Bools:
        matrix, ok = fixed_width_bytes(values, len(self.tables))
        columns = np.ascontiguousarray(matrix.T)
        for table, column in zip(self.tables, columns, strict=True):
            ok &= table[column]
        return ok


def _repeated_class(pattern: str) -> Matcher | None:
    found = _REPEAT.fullmatch(pattern)
    if found is None:
        return None
    atom, quantifier = found.group(1), found.group(2)
    if quantifier == "+":
        low, high = 1, None
    elif quantifier == "*":
        low, high = 0, None
    else:
        low = int(found.group(3))
        high = None if found.group(4) and not found.group(5) else int(found.group(5) or low)
    members = _members(atom)
    width = _width(members)
    return _RepeatedClass(pattern, members, low, high, width, _lead_table(members, width))


@dataclass(frozen=True)
class _RepeatedClass:
    pattern: str
    members: Bools
    low: int
    high: int | None
    width: int | None  # the UTF-8 length of every member, when they share one
    table: npt.NDArray[np.uint8] | None  # by first byte (width 1) or first two bytes (widths 2, 3)

    def __call__(self, values: pa.Array) -> Bools:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if not pa.types.is_string(values.type):
            values = values.cast(pa.string())
        n = len(values)
        buffers = values.buffers()
        offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=values.offset * 4)
        first, last = int(offsets[0]), int(offsets[-1])
        raw = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
        data = np.zeros(last - first + 2, dtype=np.uint8)  # two bytes of padding for the look-ahead
        data[: last - first] = raw[first:last]
        b0 = data[:-2]
        lead = (b0 & np.uint8(0xC0)) != np.uint8(0x80)
        bad = np.flatnonzero(lead & ~_membership(data, self.members, self.width, self.table))
        beyond = bad[b0[bad] >= 0xF0]
        width = self.width
        starts, lengths = offsets[:-1] - first, np.diff(offsets)
        if width is not None:
            # Every character of a row without a bad lead is a member, so all have that width.
            chars = lengths // width
            ok: Bools = lengths % width == 0
        else:
            running = np.concatenate(([0], np.cumsum(lead, dtype=np.int32)))
            chars = running[starts + lengths] - running[starts]
            ok = np.ones(n, dtype=np.bool_)
        ok &= chars >= self.low
        if self.high is not None:
            ok &= chars <= self.high
        ok[_rows(starts, bad)] = False
        if values.null_count:
            ok &= valid_mask(values)
        undecided = np.unique(_rows(starts, beyond))
        if len(undecided):
            ok[undecided] = full_match(values.take(pa.array(undecided)), self.pattern)
        return ok


def _width(members: Bools) -> int | None:
    points = np.flatnonzero(members)
    found = set(np.unique(1 + (points >= 0x80).astype(np.int8) + (points >= 0x800)).tolist())
    return found.pop() if len(found) == 1 else None


def _membership(
    data: npt.NDArray[np.uint8], members: Bools, width: int | None, table: npt.NDArray[np.uint8] | None
) -> Bools:
    """Whether the character that would start at each byte is a member (meaningful at lead bytes).

    For members of one width the first two bytes mostly decide: a table over byte pairs says whether every,
    no or only some continuations make a member, and only the last kind is decoded in full.
    """
    b0 = data[:-2]
    if table is None:
        return members[_code_points(data)]
    if width == 1:
        ascii_member: Bools = table[b0] == _ALL
        return ascii_member
    state = table[(b0.astype(np.uint16) << np.uint16(8)) | data[1:-1]]
    member: Bools = state == _ALL
    some = np.flatnonzero(state == _SOME)
    if len(some):
        member[some] = members[_code_points(data)[some]]
    return member


_NONE, _ALL, _SOME = 0, 1, 2


def _lead_table(members: Bools, width: int | None) -> npt.NDArray[np.uint8] | None:
    """For width 1, each byte; for widths 2 and 3, each (lead, first continuation) byte pair: whether all,
    none or some characters it starts are members. Other bytes and pairs are none."""
    if width is None:
        return None
    if width == 1:
        return np.concatenate((members[:_ASCII], np.zeros(256 - _ASCII, np.bool_))).astype(np.uint8)
    table = np.full(1 << 16, _NONE, dtype=np.uint8)
    leads = range(0xC2, 0xE0) if width == 2 else range(0xE0, 0xF0)
    for lead in leads:
        for follow in range(0x80, 0xC0):
            if width == 2:
                point = ((lead & 0x1F) << 6) | (follow & 0x3F)
                table[(lead << 8) | follow] = _ALL if members[point] else _NONE
                continue
            base = ((lead & 0x0F) << 12) | ((follow & 0x3F) << 6)
            block = members[base : base + 64]
            table[(lead << 8) | follow] = _ALL if block.all() else _SOME if block.any() else _NONE
    return table


def _code_points(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint16]:
    """The BMP code point that would start at each byte (meaningful at lead bytes of 1 to 3 bytes)."""
    b0 = data[:-2].astype(np.uint16)
    b1 = data[1:-1].astype(np.uint16) & np.uint16(0x3F)
    b2 = data[2:].astype(np.uint16) & np.uint16(0x3F)
    two = ((b0 & np.uint16(0x1F)) << np.uint16(6)) | b1
    three = ((b0 & np.uint16(0x0F)) << np.uint16(12)) | (b1 << np.uint16(6)) | b2
    return np.where(b0 < 0x80, b0, np.where(b0 < 0xE0, two, three))


def _rows(starts: npt.NDArray[np.int32], positions: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """The row that holds each byte position (empty rows share their start with the next row)."""
    return np.searchsorted(starts, positions, side="right") - 1


@lru_cache(maxsize=1)
def _space_leads() -> Bools:
    """The first bytes of the UTF-8 form of every character Arrow's utf8_is_space counts as white space."""
    points = [p for p in range(_BMP) if p not in _SURROGATES]
    chars = pa.array([chr(p) for p in points], pa.string())
    spaces = bool_values(pc.utf8_is_space(chars), null=False)
    table = np.zeros(256, dtype=np.bool_)
    for point in np.asarray(points)[spaces].tolist():
        table[chr(point).encode()[0]] = True
    return table


def blank(values: pa.Array) -> Bools:
    """True where the value is null, empty or white space only (as Arrow's utf8_is_space judges it).
    Only rows whose first byte can begin a white-space character are handed to Arrow."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    n = len(values)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=values.offset * 4)
    raw = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    empty = offsets[1:] == offsets[:-1]
    if not len(raw):
        nothing: Bools = empty | ~valid_mask(values)
        return nothing
    # An empty last row may start at the end of the buffer: its first byte is never looked at anyway.
    result: Bools = empty | _space_leads()[raw[np.minimum(offsets[:-1], len(raw) - 1)]]
    if values.null_count:
        result |= ~valid_mask(values)
    candidates = np.flatnonzero(result & ~empty)
    if len(candidates):
        spaces = pc.utf8_is_space(values.take(pa.array(candidates)))
        result[candidates] = bool_values(spaces, null=True)
    return result
