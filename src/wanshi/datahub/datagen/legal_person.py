"""法人库: synthetic legal persons and market entities with valid 统一社会信用代码.

Codes are unique by construction: the embedded 组织机构代码 body is an affine bijection of the row number,
"MA" plus six characters for entities registered since the 2015 reform, eight digits for older ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa

from wanshi.datahub.datagen import defects as d
from wanshi.datahub.datagen import population, tables
from wanshi.datahub.datagen.population import (
    DatagenError,
    PopulationOptions,
    SequenceCounter,
    chunk_sizes,
    days_since_epoch,
    sample_addresses,
    sample_people,
)
from wanshi.datahub.datagen.vector import (
    MAX_CHUNK_ROWS,
    USCC_BYTES,
    USCC_VALUE,
    Bools,
    Ints,
    concat,
    credit_code_check,
    dates,
    iso_dates,
    org_code_check,
    pick,
    put_digits,
    put_text,
    replace_rows,
    strings,
)

_STREAM = 2
_NEW_CODES_FROM = date(2015, 10, 1)  # 三证合一: new registrations get an "MA" 组织机构代码 body
_MA_SPACE = 31**6
_DIGIT_SPACE = 10**8
_FIRST_YEAR = 1980
_GROWTH = 0.12  # approximate yearly growth of new registrations, which makes most entities young
_REP_MALE_SHARE = 0.75  # approximate
_REP_MIN_AGE = 22

SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.int64(), nullable=False),
        pa.field("credit_code", pa.string()),
        pa.field("name", pa.string()),
        pa.field("entity_type", pa.string()),
        pa.field("legal_rep_name", pa.string()),
        pa.field("legal_rep_id_number", pa.string()),
        pa.field("legal_rep_person_id", pa.int64()),  # record_id in the linked population dataset
        pa.field("registered_capital", pa.decimal128(18, 4)),  # 万元; null where the form has none
        pa.field("established_date", pa.string()),
        pa.field("status", pa.string()),
        pa.field("division", pa.string()),
        pa.field("address", pa.string()),
        pa.field("industry", pa.string()),
        pa.field("business_scope", pa.string()),
        pa.field("defect", pa.string()),
        pa.field("duplicate_of", pa.int64()),
    ]
)
CHINESE_HEADERS = {
    "record_id": "记录编号",
    "credit_code": "统一社会信用代码",
    "name": "名称",
    "entity_type": "类型",
    "legal_rep_name": "法定代表人",
    "legal_rep_id_number": "法定代表人身份证号码",
    "legal_rep_person_id": "法定代表人人口库记录编号",
    "registered_capital": "注册资本（万元）",
    "established_date": "成立日期",
    "status": "经营状态",
    "division": "登记机关行政区划代码",
    "address": "住所",
    "industry": "行业门类",
    "business_scope": "经营范围",
    "defect": "缺陷标签",
    "duplicate_of": "重复来源记录",
}
REQUIRED = ("credit_code", "name", "legal_rep_name", "established_date")
# Capital in 万元 by category; categories not listed (个体工商户, 机关) register none.
_CAPITAL = {
    "91": (
        (3, 5, 10, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000),
        (4, 6, 14, 8, 14, 20, 10, 6, 8, 6, 2, 2),
    ),
    "93": ((5, 10, 50, 100, 200, 500), (10, 25, 30, 20, 10, 5)),
    "12": ((3, 10, 50, 100, 500), (10, 30, 30, 20, 10)),
    "51": ((1, 3, 5, 10), (20, 50, 20, 10)),
    "52": ((3, 10, 50, 100), (30, 40, 20, 10)),
}
_PUBLIC_SECTOR = "S 公共管理、社会保障和社会组织"
_SUFFIX_BY_TYPE = {
    "股份有限公司": "股份有限公司",
    "个人独资企业": "经营部",
    "有限合伙企业": "合伙企业（有限合伙）",
}


@dataclass(frozen=True)
class LegalPersonOptions:
    rows: int
    seed: int = 0
    chunk_size: int = 1_000_000
    defect_rate: float = 0.0
    defects: tuple[str, ...] = d.LEGAL_PERSON_DEFECTS
    as_of: date = date(2025, 12, 31)
    # The population dataset that legal representatives are drawn from (its clean adults), if any.
    persons: PopulationOptions | None = None

    def check(self) -> None:
        if self.rows < 0:
            raise DatagenError("行数不能为负", field="rows")
        if self.persons is not None:
            self.persons.check()
            if self.persons.rows == 0:
                raise DatagenError("关联的人口库不能为空", field="persons")
        if self.rows > _MA_SPACE:
            raise DatagenError(f"行数不能超过{_MA_SPACE}", field="rows")
        if not 1 <= self.chunk_size <= MAX_CHUNK_ROWS:
            raise DatagenError(f"每块行数应在1到{MAX_CHUNK_ROWS}之间", field="chunk_size")
        if not 0.0 <= self.defect_rate <= d.MAX_DEFECT_RATE:
            raise DatagenError(f"缺陷比例应在0到{d.MAX_DEFECT_RATE}之间", field="defect_rate")
        unknown = set(self.defects) - set(d.LEGAL_PERSON_DEFECTS)
        if unknown or not self.defects:
            raise DatagenError(f"未知的缺陷类型：{sorted(unknown)}", field="defects")


@dataclass(frozen=True)
class _Categories:
    codes: tuple[str, ...]
    p: np.ndarray
    types: tuple[tuple[str, ...], ...]
    type_p: tuple[np.ndarray, ...]


@cache
def _categories() -> _Categories:
    rows: list[dict[str, Any]] = tables.words()["categories"]

    def norm(weights: list[float]) -> np.ndarray:
        array = np.asarray(weights, dtype=np.float64)
        result: np.ndarray = array / array.sum()
        return result

    return _Categories(
        codes=tuple(r["code"] for r in rows),
        p=norm([r["weight"] for r in rows]),
        types=tuple(tuple(t["name"] for t in r["types"]) for r in rows),
        type_p=tuple(norm([t["weight"] for t in r["types"]]) for r in rows),
    )


@cache
def _scopes() -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], np.ndarray, tuple[tuple[str, ...], ...]]:
    """Industry labels, their name words, weights and pre-joined business scopes (two phrases each)."""
    industries: list[dict[str, Any]] = tables.words()["industries"]
    tail = "（依法须经批准的项目，经相关部门批准后方可开展经营活动）"
    scopes = tuple(
        tuple(f"{a}；{b}{tail}" for a in i["scope"] for b in i["scope"] if a != b) for i in industries
    )
    weights = np.array([i["weight"] for i in industries], dtype=np.float64)
    return (
        tuple(f"{i['section']} {i['name']}" for i in industries),
        tuple(tuple(i["words"]) for i in industries),
        weights / weights.sum(),
        scopes,
    )


def generate_legal_persons(options: LegalPersonOptions) -> Iterator[pa.Table]:
    """Yield tables of at most ``chunk_size`` rows with the columns of ``SCHEMA``."""
    options.check()
    rep_options = PopulationOptions(rows=0, seed=options.seed, as_of=options.as_of)
    counter = SequenceCounter(options.seed + 1)
    coefficients = np.random.default_rng([options.seed, _STREAM, 2**31]).integers(1, 10**6, size=4)
    linked = _adults(options.persons) if options.persons else None
    start = 0
    for number, size in enumerate(chunk_sizes(options.rows, options.chunk_size)):
        rng = np.random.default_rng([options.seed, _STREAM, number])
        if linked is None:
            people = sample_people(
                rng, size, rep_options, counter, min_age=_REP_MIN_AGE, male_share=_REP_MALE_SHARE
            )
            reps = _Reps(people.name, strings(people.id_matrix), pa.nulls(size, pa.int64()))
        else:
            reps = next(linked).sample(rng, size)
        yield _chunk(rng, size, start, options, reps, coefficients)
        start += size


@dataclass(frozen=True)
class _Reps:
    name: pa.StringArray
    id_number: pa.StringArray
    person_id: pa.Int64Array

    def sample(self, rng: np.random.Generator, n: int) -> _Reps:
        chosen = pa.array(rng.integers(0, len(self.name), size=n))
        return _Reps(self.name.take(chosen), self.id_number.take(chosen), self.person_id.take(chosen))


def _adults(persons: PopulationOptions) -> Iterator[_Reps]:
    """The clean adults of each chunk of a population dataset, over and over: regenerated, not read back,
    so they are the same people whether or not the dataset was written."""
    min_age_days = int(_REP_MIN_AGE * 365.2425)
    while True:
        for rng, start, people in population.people_chunks(persons):
            plan = d.plan(rng, len(people.birth_days), persons.defect_rate, persons.defects)
            age_days = days_since_epoch(persons.as_of) - people.birth_days
            rows = np.flatnonzero((plan.codes < 0) & (age_days >= min_age_days))
            taken = pa.array(rows)
            yield _Reps(people.name.take(taken), strings(people.id_matrix[rows]), pa.array(start + rows + 1))


def _establishmentdays_since_epoch(rng: np.random.Generator, n: int, as_of: date) -> Ints:
    last = days_since_epoch(as_of)
    first = days_since_epoch(date(_FIRST_YEAR, 1, 1))
    # Inverse transform of an exponential density growing towards `as_of`.
    span_years = (last - first) / 365.2425
    u = rng.random(n)
    years_back = -np.log1p(-u * (1 - np.exp(-_GROWTH * span_years))) / _GROWTH
    result: Ints = last - np.floor(years_back * 365.2425).astype(np.int64)
    return result


def _org_bodies(index: Ints, new_code: np.ndarray, coefficients: Ints) -> np.ndarray:
    a_ma, b_ma, a_digit, b_digit = (int(c) for c in coefficients)
    a_ma += 1 if a_ma % 31 == 0 else 0  # coprime with 31**6, so the map is a bijection
    a_digit = a_digit * 10 + 1  # coprime with 10**8
    bodies = np.empty((len(index), 8), dtype=np.uint8)
    ma_value = (index * a_ma + b_ma) % _MA_SPACE
    digit_value = (index * a_digit + b_digit) % _DIGIT_SPACE
    ma = np.empty((len(index), 8), dtype=np.uint8)
    ma[:, 0], ma[:, 1] = ord("M"), ord("A")
    for position in range(7, 1, -1):
        ma[:, position] = USCC_BYTES[ma_value % 31]
        ma_value //= 31
    digits = np.empty((len(index), 8), dtype=np.uint8)
    put_digits(digits, 0, digit_value, 8)
    bodies[:] = np.where(new_code[:, None], ma, digits)
    return bodies


def _type_suffix(type_name: str) -> str:
    """The legal form at the end of an enterprise's name."""
    for key, suffix in _SUFFIX_BY_TYPE.items():
        if key in type_name:
            return suffix
    return "有限公司"


def _entity_names(
    rng: np.random.Generator,
    category_code: np.ndarray,
    type_flat: Ints,
    county: Ints,
    trade_suffix: Ints,
    industry: Ints,
) -> pa.StringArray:
    """Names by category, each built only for the rows of its category."""
    info = tables.counties()
    w = tables.words()
    _, industry_words, _, _ = _scopes()
    all_types = tuple(t for types in _categories().types for t in types)
    words_per_industry = np.array([len(group) for group in industry_words])
    flat_words = tuple(word for group in industry_words for word in group)
    branch_names = ("", *(f"{name}分公司" for name in info.names))

    def some(values: tuple[str, ...] | list[str], rows: Ints) -> pa.StringArray:
        return pick(values, rng.integers(0, len(values), size=len(rows)))

    def place(rows: Ints) -> pa.StringArray:
        return concat(pick(info.cities, county[rows]), pick(info.names, county[rows]))

    def trade(rows: Ints) -> pa.StringArray:
        return concat(some(w["trade_name_chars"], rows), some(w["trade_name_chars"], rows))

    def enterprise(rows: Ints) -> pa.StringArray:
        word = np.cumsum([0, *words_per_industry])[:-1][industry[rows]] + (
            rng.random(len(rows)) * words_per_industry[industry[rows]]
        ).astype(np.int64)
        types = type_flat[rows]
        branch = np.asarray([t == "分公司" for t in all_types])[types]
        return concat(
            place(rows),
            trade(rows),
            pick(flat_words, word),
            pick(tuple(_type_suffix(t) for t in all_types), types),
            pick(branch_names, np.where(branch, county[rows] + 1, 0)),
        )

    builders: dict[str, Callable[[Ints], pa.StringArray]] = {
        "91": enterprise,
        "92": lambda rows: concat(
            pick(info.names, county[rows]),
            trade(rows),
            pick(tuple(w["individual_suffixes"]), trade_suffix[rows]),
        ),
        "93": lambda rows: concat(place(rows), trade(rows), some(w["cooperative_suffixes"], rows)),
        "11": lambda rows: concat(place(rows), some(w["government_bodies"], rows)),
        "12": lambda rows: concat(place(rows), some(w["public_institutions"], rows)),
        "51": lambda rows: concat(place(rows), some(w["social_organisations"], rows)),
        "52": lambda rows: concat(place(rows), trade(rows), some(w["private_non_enterprises"], rows)),
    }
    pieces: list[pa.Array] = []
    order: list[Ints] = []
    for code, build in builders.items():
        rows = np.flatnonzero(category_code == code)
        pieces.append(build(rows))
        order.append(rows)
    position = np.empty(len(category_code), dtype=np.int64)
    position[np.concatenate(order)] = np.arange(len(category_code))
    result: pa.StringArray = pa.concat_arrays(pieces).take(pa.array(position))
    return result


def rename(rng: np.random.Generator, name: str) -> str:
    """How the same entity's name is written differently in another department's records: one of the
    variants that apply, chosen at random."""
    variants: list[Callable[[], str]] = []
    if "有限责任公司" in name:
        variants.append(lambda: name.replace("有限责任公司", "有限公司", 1))
    elif "有限公司" in name:
        variants.append(lambda: name.replace("有限公司", "有限责任公司", 1))
    if name.endswith("分公司"):
        branch = _branch_start(name)
        variants.append(lambda: f"{name[:branch]}（{name[branch:]}）")
    for mark in ("市", "县", "区"):
        if mark in name[:6] and not name.endswith(mark):
            variants.append(lambda mark=mark: name[name.index(mark) + 1 :])  # type: ignore[misc]
            break
    variants.append(lambda: d.mistype(rng, name))
    return variants[int(rng.integers(len(variants)))]()


def _branch_start(name: str) -> int:
    """Where the branch suffix (“肥西县分公司”) of a branch's name begins: after the parent's legal form."""
    for form in ("有限责任公司", "股份有限公司", "有限公司"):
        at = name.rfind(form)
        if at >= 0:
            return at + len(form)
    return max(len(name) - 5, 0)


def _industry_and_scope(
    rng: np.random.Generator, category_code: np.ndarray, trade_suffix: Ints
) -> tuple[Ints, pa.StringArray, pa.StringArray]:
    industries, _, industry_p, scopes = _scopes()
    n = len(category_code)
    industry = rng.choice(len(industries), size=n, p=industry_p)
    # An individual business's trade decides its industry; cooperatives farm.
    suffix_sections: dict[str, str] = tables.words()["individual_suffixes"]
    sections = [label.split()[0] for label in industries]
    suffix_industry = np.array([sections.index(section) for section in suffix_sections.values()])
    individual = category_code == "92"
    industry[individual] = suffix_industry[trade_suffix[individual]]
    industry[category_code == "93"] = sections.index("A")
    # 机关, 事业单位 and social organisations have a 宗旨和业务范围 in their own registries, not a 经营范围.
    non_market = np.isin(category_code, ("11", "12", "51", "52"))
    scope_count = np.array([len(group) for group in scopes])
    scope_index = (rng.random(n) * scope_count[industry]).astype(np.int64)
    flat_scopes = tuple(s for group in scopes for s in group)
    scope_offset = np.cumsum([0, *scope_count])[:-1]
    return (
        industry,
        pick((*industries, _PUBLIC_SECTOR), np.where(non_market, len(industries), industry)),
        pick(
            (*flat_scopes, None), np.where(non_market, len(flat_scopes), scope_offset[industry] + scope_index)
        ),
    )


def _chunk(
    rng: np.random.Generator,
    n: int,
    start: int,
    options: LegalPersonOptions,
    reps: _Reps,
    coefficients: Ints,
) -> pa.Table:
    info = tables.counties()
    cats = _categories()
    category = rng.choice(len(cats.codes), size=n, p=cats.p)
    type_flat = np.zeros(n, dtype=np.int64)
    type_offset = np.cumsum([0, *(len(types) for types in cats.types)])
    for i, (names, p) in enumerate(zip(cats.types, cats.type_p, strict=True)):
        rows = np.flatnonzero(category == i)
        type_flat[rows] = type_offset[i] + rng.choice(len(names), size=len(rows), p=p)
    entity_type = pick(tuple(t for types in cats.types for t in types), type_flat)
    county = rng.choice(len(info.codes), size=n, p=info.p)
    established = _establishmentdays_since_epoch(rng, n, options.as_of)
    new_code = established >= days_since_epoch(_NEW_CODES_FROM)

    plan = d.plan(rng, n, options.defect_rate, options.defects)
    division = np.frombuffer("".join(info.codes).encode(), dtype=np.uint8).reshape(-1, 6)[county]
    rows = plan.rows(d.UNKNOWN_DIVISION)
    unknown = np.frombuffer("".join(info.unknown_codes).encode(), dtype=np.uint8).reshape(-1, 6)
    division[rows] = unknown[county[rows]]

    code = np.empty((n, 18), dtype=np.uint8)
    put_text(code, 0, list(cats.codes), category)
    code[:, 2:8] = division
    code[:, 8:16] = _org_bodies(np.arange(start, start + n, dtype=np.int64), new_code, coefficients)
    code[:, 16] = org_code_check(code[:, 8:16])
    code[:, 17] = credit_code_check(code[:, :17])
    rows = plan.rows(d.USCC_CHECK_CHAR)
    shift = rng.integers(1, 31, size=len(rows))
    code[rows, 17] = USCC_BYTES[(USCC_VALUE[code[rows, 17]] + shift) % 31]
    found = d.duplicates(rng, plan)
    code = code[found.index(n)]
    code_valid, renamed = _near_duplicates(rng, found.near, code)

    established_field = dates(established)
    rows = plan.rows(d.INVALID_DATE)
    established_field[rows] = d.invalid_dates(rng, established_field[rows])

    capital = np.zeros(n, dtype=np.int64)
    has_capital = np.zeros(n, dtype=np.bool_)
    for key, (values, weights) in _CAPITAL.items():
        rows = np.flatnonzero(np.asarray(cats.codes)[category] == key)
        p = np.asarray(weights, dtype=np.float64)
        capital[rows] = np.asarray(values)[rng.choice(len(values), size=len(rows), p=p / p.sum())]
        has_capital[rows] = True
    statuses: dict[str, float] = tables.words()["statuses"]
    status_p = np.asarray(list(statuses.values()), dtype=np.float64)
    trade_suffix = rng.integers(0, len(tables.words()["individual_suffixes"]), size=n)
    industry, industry_label, scope = _industry_and_scope(rng, np.asarray(cats.codes)[category], trade_suffix)

    columns: dict[str, pa.Array] = {
        "name": _entity_names(
            rng, np.asarray(cats.codes)[category], type_flat, county, trade_suffix, industry
        ),
        "entity_type": entity_type,
        "legal_rep_name": reps.name,
        "legal_rep_id_number": reps.id_number,
        "legal_rep_person_id": reps.person_id,
        "registered_capital": pa.array(capital.astype(np.int32), mask=~has_capital).cast(
            pa.decimal128(18, 4)
        ),
        "established_date": strings(iso_dates(established_field)),
        "status": pick(tuple(statuses), rng.choice(len(status_p), size=n, p=status_p / status_p.sum())),
        "division": strings(division),
        "address": sample_addresses(rng, county),
        "industry": industry_label,
        "business_scope": scope,
    }
    columns = {"credit_code": strings(code, code_valid), **found.take(columns, n)}
    names = columns["name"].take(pa.array(renamed, type=pa.int64())).to_pylist()
    columns["name"] = replace_rows(columns["name"], renamed, [rename(rng, v) for v in names])
    record_id = np.arange(start + 1, start + n + 1, dtype=np.int64)
    return d.apply_text_defects(
        rng,
        plan,
        columns,
        record_id,
        found,
        REQUIRED,
        SCHEMA,
        code_column="credit_code",
        kangxi_column="legal_rep_name",
    )


def _near_duplicates(rng: np.random.Generator, near: Ints, code: np.ndarray) -> tuple[Bools, Ints]:
    """Each near-duplicate made to differ from its source as in ``d.ENTERPRISE_NEAR_MIX``: the credit code
    mistyped in place or missing (the validity mask returned), and the rows whose name is written another
    way (returned)."""
    kinds = d.near_kinds(rng, len(near), d.ENTERPRISE_NEAR_MIX)
    rows = near[kinds == d.CODE_TYPO]
    part = code[rows]
    position = rng.integers(0, 17, size=len(rows))
    at = np.arange(len(rows))
    part[at, position] = USCC_BYTES[
        (USCC_VALUE[part[at, position]] + rng.integers(1, 31, size=len(rows))) % 31
    ]
    code[rows] = part
    valid = np.ones(len(code), dtype=np.bool_)
    valid[near[kinds == d.CODE_MISSING]] = False
    with_code_problem = near[kinds != d.RENAMED]
    also = with_code_problem[rng.random(len(with_code_problem)) < d.ALSO_RENAMED_SHARE]
    return valid, np.sort(np.r_[near[kinds == d.RENAMED], also])
