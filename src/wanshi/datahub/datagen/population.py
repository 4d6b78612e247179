"""人口库: synthetic resident records, generated chunk by chunk with numpy and Arrow.

Every chunk draws from its own generator seeded by (seed, chunk number), so a seed, a size and a chunk
size always give the same rows and a bigger run starts with the chunks of a smaller one. Resident ID
numbers are unique by construction: each (county, birth date, sex) cell hands out its sequence numbers
through a counter, which is the only state carried from chunk to chunk (16 MB, whatever the row count).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wanshi.datahub.datagen import defects as d
from wanshi.datahub.datagen import tables
from wanshi.datahub.datagen.vector import (
    ID_CHECK_CHARS,
    MAX_CHUNK_ROWS,
    Bools,
    Ints,
    concat,
    dates,
    iso_dates,
    pick,
    put_digits,
    put_text,
    replace_rows,
    resident_id_check,
    strings,
)
from wanshi.kernel.errors import ValidationFailed

_STREAM = 1  # distinguishes this generator's random streams from the legal-person generator's
_MALE_SHARE = 0.5097  # Anhui 2020 census sex ratio 103.94 males per 100 females
_MOVED_SHARE = 0.12  # approximate share registered in another county than the one that issued the ID
_PHONE_MIN_AGE = 16
_SINGLE_CHAR_NAME_SHARE = 0.22  # approximate: 单名 peaked among people born in the 1980s-90s
_NEW_ERA_FROM = 1985
_MAX_AGE_DAYS = 105 * 366
_SEQUENCES_PER_SEX = 500

SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.int64(), nullable=False),
        pa.field("id_number", pa.string()),
        pa.field("name", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("birth_date", pa.string()),
        pa.field("ethnicity", pa.string()),
        pa.field("household_division", pa.string()),
        pa.field("address", pa.string()),
        pa.field("phone", pa.string()),
        pa.field("defect", pa.string()),
        pa.field("duplicate_of", pa.int64()),
    ]
)
CHINESE_HEADERS = {
    "record_id": "记录编号",
    "id_number": "公民身份号码",
    "name": "姓名",
    "sex": "性别",
    "birth_date": "出生日期",
    "ethnicity": "民族",
    "household_division": "户籍地行政区划代码",
    "address": "住址",
    "phone": "手机号码",
    "defect": "缺陷标签",
    "duplicate_of": "重复来源记录",
}
REQUIRED = ("id_number", "name", "sex", "birth_date")


class DatagenError(ValidationFailed):
    code = "datagen_invalid"


@dataclass(frozen=True)
class PopulationOptions:
    rows: int
    seed: int = 0
    chunk_size: int = 1_000_000
    defect_rate: float = 0.0
    defects: tuple[str, ...] = d.POPULATION_DEFECTS
    # Ages are measured to this date, not to today, so a seed gives the same data every day.
    as_of: date = date(2025, 12, 31)
    ethnicity_profile: str = "national"

    def check(self) -> None:
        if self.rows < 0:
            raise DatagenError("行数不能为负", field="rows")
        if not 1 <= self.chunk_size <= MAX_CHUNK_ROWS:
            raise DatagenError(f"每块行数应在1到{MAX_CHUNK_ROWS}之间", field="chunk_size")
        if not 0.0 <= self.defect_rate <= d.MAX_DEFECT_RATE:
            raise DatagenError(f"缺陷比例应在0到{d.MAX_DEFECT_RATE}之间", field="defect_rate")
        unknown = set(self.defects) - set(d.POPULATION_DEFECTS)
        if unknown or not self.defects:
            raise DatagenError(f"未知的缺陷类型：{sorted(unknown)}", field="defects")
        if self.ethnicity_profile not in ("national", "anhui"):
            raise DatagenError("民族分布应为 national 或 anhui", field="ethnicity_profile")


def chunk_sizes(rows: int, chunk_size: int) -> list[int]:
    full, rest = divmod(rows, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def generate_population(options: PopulationOptions) -> Iterator[pa.Table]:
    """Yield tables of at most ``chunk_size`` rows with the columns of ``SCHEMA``."""
    options.check()
    for rng, start, people in people_chunks(options):
        yield _finish(rng, people, start, options)


def people_chunks(options: PopulationOptions) -> Iterator[tuple[np.random.Generator, int, People]]:
    """The people of each chunk before defects, with the chunk's generator positioned where the defect
    plan is drawn next: other generators use it to refer to exactly the people of a population dataset."""
    counter = SequenceCounter(options.seed)
    start = 0
    for number, size in enumerate(chunk_sizes(options.rows, options.chunk_size)):
        rng = np.random.default_rng([options.seed, _STREAM, number])
        yield rng, start, sample_people(rng, size, options, counter)
        start += size


@dataclass
class People:
    """Clean columns before defects; the numeric parts stay available for vectorised defects."""

    id_matrix: np.ndarray  # (n, 18) ASCII
    birth_days: Ints
    id_county: Ints
    household_county: Ints
    male: Bools
    name: pa.StringArray
    ethnicity: pa.StringArray
    address: pa.StringArray
    phone: pa.StringArray

    def take(self, index: Ints) -> People:
        """The people at ``index`` (rows repeated where a duplicate copies another)."""
        rows = pa.array(index)
        return People(
            id_matrix=self.id_matrix[index],
            birth_days=self.birth_days[index],
            id_county=self.id_county[index],
            household_county=self.household_county[index],
            male=self.male[index],
            name=self.name.take(rows),
            ethnicity=self.ethnicity.take(rows),
            address=self.address.take(rows),
            phone=self.phone.take(rows),
        )


class SequenceCounter:
    """Sequence numbers handed out so far per (county, days before as_of, sex) cell."""

    def __init__(self, seed: int) -> None:
        counties = len(tables.counties().codes)
        self.issued = np.zeros(counties * (_MAX_AGE_DAYS + 1) * 2, dtype=np.uint16)
        # Sequence numbers in a seeded order, so they look like real ones rather than 001, 003, 005...
        self.order = np.random.default_rng([seed, _STREAM, 2**31]).permutation(_SEQUENCES_PER_SEX)

    def take(self, cells: Ints) -> Ints:
        # Cells fit in 32 bits, where numpy's default sort is much faster than on int64.
        order = np.argsort(cells.astype(np.int32))
        ordered = cells[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        lengths = np.diff(np.r_[starts, len(ordered)])
        rank_sorted = np.arange(len(ordered)) - np.repeat(starts, lengths)
        rank = np.empty_like(rank_sorted)
        rank[order] = rank_sorted
        issued = self.issued[cells].astype(np.int64) + rank
        if len(issued) and issued.max() >= _SEQUENCES_PER_SEX:
            raise DatagenError("同一区县、同一出生日期、同一性别的顺序码已用尽：请减少行数")
        self.issued[ordered[starts]] += lengths.astype(np.uint16)
        # A per-cell rotation keeps the first number of every cell from being the same one.
        result: Ints = (self.order[issued] + cells * 7919) % _SEQUENCES_PER_SEX
        return result


def sample_birth_days(rng: np.random.Generator, n: int, as_of: date, min_age: int = 0) -> Ints:
    """Days since 1970-01-01, following the age pyramid (ages below `min_age` excluded)."""
    groups = tables.age_groups()
    p = np.where(groups.age_to >= min_age, groups.p, 0.0)
    group = rng.choice(len(p), size=n, p=p / p.sum())
    low = np.maximum(groups.age_from[group], min_age)
    age = low + rng.random(n) * (groups.age_to[group] + 1 - low)
    result: Ints = days_since_epoch(as_of) - np.floor(age * 365.2425).astype(np.int64)
    return result


def sample_names(rng: np.random.Generator, male: Bools, birth_year: Ints) -> pa.StringArray:
    n = len(male)
    surnames = tables.surnames()
    given = tables.given_names()
    surname = pick(surnames.values, rng.choice(len(surnames.values), size=n, p=surnames.p))
    first = np.empty(n, dtype=np.int64)
    second = np.empty(n, dtype=np.int64)
    new_era = birth_year >= _NEW_ERA_FROM
    for sex, sex_mask in (("m", male), ("f", ~male)):
        for era, era_mask in (("old", ~new_era), ("new", new_era)):
            rows = np.flatnonzero(sex_mask & era_mask)
            p = given.p[sex, era]
            first[rows] = rng.choice(len(p), size=len(rows), p=p)
            second[rows] = rng.choice(len(p), size=len(rows), p=p)
    chars = (*given.chars, "")
    second[rng.random(n) < _SINGLE_CHAR_NAME_SHARE] = len(chars) - 1
    return concat(surname, pick(chars, first), pick(chars, second))


def sample_phones(rng: np.random.Generator, n: int, valid: Bools | None = None) -> pa.StringArray:
    prefixes: dict[str, float] = tables.words()["mobile_prefixes"]
    codes = list(prefixes)
    weights = np.array(list(prefixes.values()), dtype=np.float64)
    matrix = np.empty((n, 11), dtype=np.uint8)
    put_text(matrix, 0, codes, rng.choice(len(codes), size=n, p=weights / weights.sum()))
    matrix[:, 3:] = rng.integers(ord("0"), ord("9") + 1, size=(n, 8), dtype=np.uint8)
    return strings(matrix, valid)


@cache
def _address_parts() -> dict[str, tuple[str, ...]]:
    """Pieces pre-joined into small tables, so that a row costs a few lookups and one concatenation."""
    info = tables.counties()
    w = tables.words()
    return {
        "place": tuple(city + county for city, county in zip(info.cities, info.names, strict=True)),
        "road": tuple(a + b for a in w["road_words"] for b in w["road_suffixes"]),
        "number": tuple(f"{i}号" for i in range(1, 400)),
        "estate": tuple(a + b for a in w["estate_words"] for b in w["estate_suffixes"]),
        "building": tuple(f"{b}栋{u}单元" for b in range(1, 40) for u in range(1, 5)),
        "room": tuple(f"{floor}{room:02d}室" for floor in range(1, 33) for room in range(1, 5)),
        "town": tuple(a + b for a in w["town_words"] for b in w["town_suffixes"]),
        "village": tuple(f"{v}村{g}组" for v in w["village_words"] for g in range(1, 16)),
        "house": tuple(f"{i}号" for i in range(1, 120)),
    }


def sample_addresses(rng: np.random.Generator, county: Ints) -> pa.StringArray:
    """城市+区县 then a street address with a flat (towns) or a 镇/乡, 村, 组 and house (countryside)."""
    n = len(county)
    parts = _address_parts()
    urban = tables.counties().is_district[county] | (rng.random(n) < 0.35)
    flat = urban & (rng.random(n) < 0.7)
    kinds = (
        (flat, ("road", "number", "estate", "building", "room")),
        (urban & ~flat, ("road", "number")),
        (~urban, ("town", "village", "house")),
    )
    pieces: list[pa.Array] = []
    order: list[Ints] = []
    for mask, keys in kinds:
        rows = np.flatnonzero(mask)
        lookups = [pick(parts[key], rng.integers(0, len(parts[key]), size=len(rows))) for key in keys]
        pieces.append(concat(pick(parts["place"], county[rows]), *lookups))
        order.append(rows)
    position = np.empty(n, dtype=np.int64)
    position[np.concatenate(order)] = np.arange(n)
    result: pa.StringArray = pa.concat_arrays(pieces).take(pa.array(position))
    return result


def sample_people(
    rng: np.random.Generator,
    n: int,
    options: PopulationOptions,
    counter: SequenceCounter,
    min_age: int = 0,
    male_share: float = _MALE_SHARE,
) -> People:
    info = tables.counties()
    county = rng.choice(len(info.codes), size=n, p=info.p)
    male = rng.random(n) < male_share
    birth_days = sample_birth_days(rng, n, options.as_of, min_age)
    age_days = days_since_epoch(options.as_of) - birth_days
    cells = (county * (_MAX_AGE_DAYS + 1) + age_days) * 2 + male
    sequence = counter.take(cells) * 2 + male  # odd for men (GB 11643)

    ids = np.empty((n, 18), dtype=np.uint8)
    put_text(ids, 0, list(info.codes), county)
    birth = dates(birth_days)
    ids[:, 6:14] = birth
    put_digits(ids, 14, sequence, 3)
    ids[:, 17] = resident_id_check(ids[:, :17])

    moved = rng.random(n) < _MOVED_SHARE
    household = np.where(moved, rng.choice(len(info.codes), size=n, p=info.p), county)
    birth_year = (birth[:, :4].astype(np.int64) - ord("0")) @ np.array([1000, 100, 10, 1])
    age_years = age_days // 365
    groups = tables.ethnic_groups(options.ethnicity_profile)
    return People(
        id_matrix=ids,
        birth_days=birth_days,
        id_county=county,
        household_county=household,
        male=male,
        name=sample_names(rng, male, birth_year),
        ethnicity=pick(groups.values, rng.choice(len(groups.values), size=n, p=groups.p)),
        address=sample_addresses(rng, household),
        phone=sample_phones(rng, n, age_years >= _PHONE_MIN_AGE),
    )


def _finish(rng: np.random.Generator, people: People, start: int, options: PopulationOptions) -> pa.Table:
    n = len(people.birth_days)
    info = tables.counties()
    plan = d.plan(rng, n, options.defect_rate, options.defects)
    found = d.duplicates(rng, plan)
    if len(found.exact) or len(found.near):
        people = people.take(found.index(n))
    ids = people.id_matrix
    field_birth = people.id_matrix[:, 6:14].copy()
    codes = np.frombuffer("".join(info.codes).encode(), dtype=np.uint8).reshape(-1, 6)
    household = codes[people.household_county]

    rows = plan.rows(d.ID_BIRTH_MISMATCH)
    shift = rng.integers(1, 3650, size=len(rows))
    later = people.birth_days[rows] + shift
    # A later date must not pass the reference date; an earlier one always exists.
    field_birth[rows] = dates(
        np.where(later <= days_since_epoch(options.as_of), later, people.birth_days[rows] - shift)
    )

    rows = plan.rows(d.INVALID_DATE)
    field_birth[rows] = d.invalid_dates(rng, field_birth[rows])

    rows = plan.rows(d.UNKNOWN_DIVISION)
    unknown = np.frombuffer("".join(info.unknown_codes).encode(), dtype=np.uint8).reshape(-1, 6)
    ids[rows, :6] = unknown[people.id_county[rows]]
    ids[rows, 17] = resident_id_check(ids[rows, :17])
    household[rows] = unknown[people.household_county[rows]]

    rows = plan.rows(d.ID_CHECK_CHAR)
    actual = np.searchsorted(np.sort(ID_CHECK_CHARS), ids[rows, 17])
    right = np.argsort(ID_CHECK_CHARS)[actual]
    ids[rows, 17] = ID_CHECK_CHARS[(right + rng.integers(1, 11, size=len(rows))) % 11]

    near = _near_duplicates(rng, found.near, ids, household, people.household_county)
    columns: dict[str, pa.Array] = {
        "id_number": strings(ids, near.id_valid),
        "name": people.name,
        "sex": pick(("女", "男"), people.male.astype(np.int64)),
        "birth_date": strings(iso_dates(field_birth)),
        "ethnicity": people.ethnicity,
        "household_division": strings(household),
        "address": replace_rows(people.address, near.moved, sample_addresses(rng, near.moved_to)),
        "phone": replace_rows(people.phone, near.new_phone, sample_phones(rng, len(near.new_phone))),
    }
    columns["id_number"] = replace_rows(columns["id_number"], near.old15, strings(near.old15_ids))
    columns["phone"] = replace_rows(columns["phone"], near.no_phone, [None] * len(near.no_phone))
    short = pc.replace_substring_regex(
        columns["address"].take(pa.array(near.short_address, type=pa.int64())),
        "^[^市]+市",
        "",
        max_replacements=1,
    )
    columns["address"] = replace_rows(columns["address"], near.short_address, short)
    names = people.name.take(pa.array(near.renamed, type=pa.int64())).to_pylist()
    columns["name"] = replace_rows(people.name, near.renamed, [d.name_variant(rng, v) for v in names])
    record_id = np.arange(start + 1, start + n + 1, dtype=np.int64)
    return d.apply_text_defects(
        rng, plan, columns, record_id, found, REQUIRED, SCHEMA, code_column="id_number"
    )


@dataclass(frozen=True)
class _NearDuplicates:
    """What the near-duplicates changed, beyond the ID matrix and household codes changed in place."""

    id_valid: Bools
    old15: Ints
    old15_ids: np.ndarray  # (len(old15), 15) ASCII
    renamed: Ints
    new_phone: Ints
    moved: Ints
    moved_to: Ints  # county index of each moved row
    no_phone: Ints
    short_address: Ints


def _near_duplicates(
    rng: np.random.Generator, near: Ints, ids: np.ndarray, household: np.ndarray, household_county: Ints
) -> _NearDuplicates:
    """Each near-duplicate made to differ from its source in one of the ways of ``d.PERSON_NEAR_MIX``."""
    kinds = d.near_kinds(rng, len(near), d.PERSON_NEAR_MIX)
    old15 = near[kinds == d.ID_OLD15]
    # 15-digit IDs were issued until 1999 and drop the century "19": only people born in the 1900s had one.
    born_1900s = (ids[old15, 6] == ord("1")) & (ids[old15, 7] == ord("9"))
    transposed = np.r_[near[kinds == d.ID_TRANSPOSED], old15[~born_1900s]]
    old15 = old15[born_1900s]
    for rows, change in (
        (near[kinds == d.ID_TYPO], d.mistype_digits),
        (transposed, d.transpose_adjacent),
    ):
        part = ids[rows]
        change(rng, part, 17)
        ids[rows] = part
    id_valid = np.ones(len(ids), dtype=np.bool_)
    id_valid[near[kinds == d.ID_MISSING]] = False
    with_id_problem = near[np.isin(kinds, d.PERSON_ID_KINDS)]
    also_name = with_id_problem[rng.random(len(with_id_problem)) < d.ALSO_NAME_SHARE]

    moved = near[kinds == d.MOVED]
    info = tables.counties()
    moved_to = rng.choice(len(info.codes), size=len(moved), p=info.p)
    moved_to = np.where(moved_to == household_county[moved], (moved_to + 1) % len(info.codes), moved_to)
    household[moved] = np.frombuffer("".join(info.codes).encode(), dtype=np.uint8).reshape(-1, 6)[moved_to]
    return _NearDuplicates(
        id_valid=id_valid,
        old15=old15,
        old15_ids=np.concatenate([ids[old15, :6], ids[old15, 8:17]], axis=1),
        renamed=np.sort(np.r_[near[kinds == d.NAME_VARIANT], also_name]),
        new_phone=near[kinds == d.PHONE_CHANGED],
        moved=moved,
        moved_to=moved_to,
        no_phone=near[(kinds != d.PHONE_CHANGED) & (rng.random(len(near)) < d.NO_PHONE_SHARE)],
        short_address=near[rng.random(len(near)) < d.SHORT_ADDRESS_SHARE],
    )


def days_since_epoch(day: date) -> int:
    return int((np.datetime64(day, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64))
