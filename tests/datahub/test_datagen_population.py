from __future__ import annotations

import re
import tracemalloc
import unicodedata
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from wanshi.datahub.datagen import defects as d
from wanshi.datahub.datagen import tables
from wanshi.datahub.datagen.cli import app
from wanshi.datahub.datagen.population import (
    DatagenError,
    PopulationOptions,
    generate_population,
)
from wanshi.datahub.datagen.writers import write_to_file, write_to_store
from wanshi.datahub.store import ParquetDuckDBStore
from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.identifiers import InvalidResidentId, validate_resident_id
from wanshi.org.api import bundled_division_table

MOBILE = re.compile(r"^1(3\d|5[0-35-9]|7[35-8]|8\d|9[135-9])\d{8}$")


@cache
def known_divisions() -> frozenset[str]:
    lines = bundled_division_table().splitlines()[1:]
    return frozenset(line.split("\t")[2] for line in lines)


def rows(
    n: int, seed: int = 1, rate: float = 0.0, chunk: int = 50_000, **kw: object
) -> list[dict[str, object]]:
    options = PopulationOptions(rows=n, seed=seed, defect_rate=rate, chunk_size=chunk, **kw)  # type: ignore[arg-type]
    records: list[dict[str, object]] = pa.concat_tables(generate_population(options)).to_pylist()
    return records


def test_clean_records_are_valid_and_consistent() -> None:
    records = rows(20_000)
    assert len(records) == 20_000
    assert {r["defect"] for r in records} == {None}
    for r in records:
        info = validate_resident_id(str(r["id_number"]), known_division=known_divisions().__contains__)
        assert info.warnings == ()
        assert info.division_code.startswith("34")
        assert info.birth_date.isoformat() == r["birth_date"]
        assert r["sex"] == ("男" if info.sex == "male" else "女")
        assert r["household_division"] in known_divisions()
        assert str(r["address"]).startswith(tuple(tables.counties().cities))
        assert 2 <= len(str(r["name"])) <= 4
        age = (date(2025, 12, 31) - info.birth_date).days // 365
        assert (r["phone"] is None) == (age < 16)
        assert r["phone"] is None or MOBILE.match(str(r["phone"]))


def test_id_numbers_are_unique() -> None:
    ids = [r["id_number"] for r in rows(100_000, chunk=30_000)]
    assert len(set(ids)) == len(ids)


def test_same_seed_same_data_and_chunks_are_prefixes() -> None:
    first = rows(5_000, seed=9, rate=0.1, chunk=2_000)
    assert first == rows(5_000, seed=9, rate=0.1, chunk=2_000)
    assert rows(4_000, seed=9, rate=0.1, chunk=2_000) == first[:4_000]
    assert first != rows(5_000, seed=10, rate=0.1, chunk=2_000)


def test_frequencies_follow_the_tables() -> None:
    records = rows(200_000, seed=3, chunk=100_000)
    n = len(records)
    groups = tables.ethnic_groups("national")
    expected_han = float(groups.p[groups.values.index("汉族")])
    han = sum(r["ethnicity"] == "汉族" for r in records) / n
    assert abs(han - expected_han) < 0.01
    assert abs(expected_han - 0.911) < 0.001
    assert sum(r["sex"] == "男" for r in records) / n == pytest.approx(0.51, abs=0.01)
    surnames = tables.surnames()
    wang = sum(str(r["name"]).startswith("王") for r in records) / n
    assert wang == pytest.approx(float(surnames.p[0]), rel=0.1)
    hefei = sum(str(r["id_number"]).startswith("3401") for r in records) / n
    assert 0.12 < hefei < 0.17
    children = sum(str(r["birth_date"]) > "2011-01-01" for r in records) / n
    assert children == pytest.approx(0.1924, abs=0.02)


def test_anhui_profile_has_hui_as_largest_minority() -> None:
    groups = tables.ethnic_groups("anhui")
    minorities = sorted(zip(groups.p, groups.values, strict=True), reverse=True)
    assert [name for _, name in minorities[:2]] == ["汉族", "回族"]


def test_defects_fail_exactly_as_labelled() -> None:
    records = rows(30_000, seed=5, rate=0.3, chunk=10_000)
    labels = {r["defect"] for r in records}
    assert labels == {None, *d.POPULATION_DEFECTS}
    known = known_divisions().__contains__
    originals = {r["record_id"]: r for r in records if r["defect"] is None}
    for r in records:
        label, number = r["defect"], r["id_number"]
        if label is None:
            validate_resident_id(str(number), known_division=known)
        elif label == d.ID_CHECK_CHAR:
            with pytest.raises(InvalidResidentId) as caught:
                validate_resident_id(str(number))
            assert caught.value.details["reason"] == "check_char"
        elif label == d.ID_BIRTH_MISMATCH:
            info = validate_resident_id(str(number))
            assert info.birth_date.isoformat() != r["birth_date"]
            date.fromisoformat(str(r["birth_date"]))
        elif label == d.INVALID_DATE:
            validate_resident_id(str(number))
            with pytest.raises(ValueError):  # noqa: PT011 - date parsing has no narrower error
                date.fromisoformat(str(r["birth_date"]))
        elif label == d.UNKNOWN_DIVISION:
            info = validate_resident_id(str(number), known_division=known)
            assert any("不在行政区划表中" in w for w in info.warnings)
            assert r["household_division"] not in known_divisions()
        elif label == d.FULLWIDTH_DIGITS:
            assert not str(number).isascii()
            validate_resident_id(unicodedata.normalize("NFKC", str(number)))
        elif label == d.KANGXI_RADICAL:
            name = str(r["name"])
            assert any(0x2F00 <= ord(ch) <= 0x2FD5 for ch in name)
            assert not any(0x2F00 <= ord(ch) <= 0x2FD5 for ch in unicodedata.normalize("NFKC", name))
        elif label == d.WHITESPACE:
            padded = [v for v in (str(r["name"]), str(number)) if v != v.strip()]
            assert len(padded) == 1
            if padded[0] == number:
                validate_resident_id(str(number))
        elif label == d.MISSING_REQUIRED:
            assert sum(r[c] is None for c in ("id_number", "name", "sex", "birth_date")) == 1
        elif label == d.DUPLICATE_EXACT:
            original = originals[r["duplicate_of"]]
            assert {k: v for k, v in r.items() if k not in ("defect", "duplicate_of")} == {
                k: v for k, v in original.items() if k not in ("defect", "duplicate_of")
            }
        elif label == d.NEAR_DUPLICATE:
            original = originals[r["duplicate_of"]]
            assert r["record_id"] != original["record_id"]
            assert near_kind(original, r) in d.PERSON_NEAR_MIX
    clean = [r["id_number"] for r in records if r["defect"] is None]
    assert len(set(clean)) == len(clean)


def _one_char_apart(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _name_changed(original: str, name: str) -> bool:
    """True when the name differs in a way linkage must tolerate; fails on any other difference."""
    if name == original:
        return False
    folded = unicodedata.normalize("NFKC", name).strip()
    assert folded == original or _one_char_apart(name, original), (original, name)
    return True


def near_kind(original: dict[str, object], r: dict[str, object]) -> str:
    """Which kind of near-duplicate ``r`` is, from how it differs from the record it copies; fails when it
    differs in any other way, or in none."""
    same = ("sex", "birth_date", "ethnicity")
    assert all(r[k] == original[k] for k in same)
    number, first = r["id_number"], str(original["id_number"])
    name_changed = _name_changed(str(original["name"]), str(r["name"]))
    moved = r["household_division"] != original["household_division"]
    address = str(r["address"])
    if not moved and address != original["address"]:
        # Written without the city, as some departments do: the same address otherwise.
        city = str(original["address"]).index("市") + 1
        assert address == str(original["address"])[city:]
    phone_changed = r["phone"] not in (original["phone"], None)
    if number != first:
        assert not moved
        assert not phone_changed
        if number is None:
            return d.ID_MISSING
        number = str(number)
        if len(number) == 15:
            assert first[6:8] == "19"
            assert number == first[:6] + first[8:17]
            return d.ID_OLD15
        with pytest.raises(InvalidResidentId) as caught:
            validate_resident_id(number)
        assert caught.value.details["reason"] in ("check_char", "birth_date", "division")
        assert number[17] == first[17]
        if _one_char_apart(number, first):
            return d.ID_TYPO
        (i,) = {k for k in range(17) if number[k] != first[k]} - {
            k + 1 for k in range(17) if number[k] != first[k]
        }
        assert number[i : i + 2] == first[i + 1] + first[i]
        return d.ID_TRANSPOSED
    assert [name_changed, moved, phone_changed].count(True) == 1
    if moved:
        assert r["household_division"] in known_divisions()
        assert address != original["address"]
        return d.MOVED
    if phone_changed:
        assert MOBILE.match(str(r["phone"]))
        return d.PHONE_CHANGED
    return d.NAME_VARIANT


def test_near_duplicates_differ_as_other_departments_records_do() -> None:
    records = rows(120_000, seed=8, rate=0.2, chunk=40_000, defects=(d.NEAR_DUPLICATE,))
    originals = {r["record_id"]: r for r in records if r["defect"] is None}
    near = [r for r in records if r["defect"] is not None]
    assert {r["defect"] for r in near} == {d.NEAR_DUPLICATE}
    kinds = Counter(near_kind(originals[r["duplicate_of"]], r) for r in near)
    assert set(kinds) == set(d.PERSON_NEAR_MIX)
    # People born since 2000 have no 15-digit ID: their share of the old-ID kind is a swap instead.
    for kind, share in d.PERSON_NEAR_MIX.items():
        expected = share
        if kind == d.ID_OLD15:
            expected *= 0.75
        elif kind == d.ID_TRANSPOSED:
            expected += d.PERSON_NEAR_MIX[d.ID_OLD15] * 0.25
        assert kinds[kind] / len(near) == pytest.approx(expected, abs=0.03), kind
    # A fifth of those with an ID problem carry a name variant too; no duplicate keeps everything.
    with_id = [r for r in near if r["id_number"] != originals[r["duplicate_of"]]["id_number"]]
    renamed = sum(r["name"] != originals[r["duplicate_of"]]["name"] for r in with_id)
    assert renamed / len(with_id) == pytest.approx(d.ALSO_NAME_SHARE, abs=0.03)
    originals_of = [originals[r["duplicate_of"]] for r in near]
    no_phone = sum(
        r["phone"] is None and o["phone"] is not None for r, o in zip(near, originals_of, strict=True)
    )
    with_phone = sum(o["phone"] is not None for o in originals_of)
    assert no_phone / with_phone == pytest.approx(
        d.NO_PHONE_SHARE * (1 - d.PERSON_NEAR_MIX[d.PHONE_CHANGED]), abs=0.03
    )
    short = sum(not str(r["address"]).startswith(tuple(tables.counties().cities)) for r in near)
    assert short / len(near) == pytest.approx(d.SHORT_ADDRESS_SHARE, abs=0.03)
    missing = [r for r in near if r["id_number"] is None]
    assert all(r["name"] and r["birth_date"] and r["sex"] and r["household_division"] for r in missing)


def test_only_the_chosen_defects_are_injected() -> None:
    records = rows(2_000, rate=0.5, defects=(d.KANGXI_RADICAL,))
    assert {r["defect"] for r in records} == {None, d.KANGXI_RADICAL}


@pytest.mark.parametrize(
    "options",
    [
        PopulationOptions(rows=-1),
        PopulationOptions(rows=10, defect_rate=0.6),
        PopulationOptions(rows=10, defects=("nonsense",)),
        PopulationOptions(rows=10, chunk_size=0),
        PopulationOptions(rows=10, ethnicity_profile="mars"),
    ],
)
def test_bad_options_are_refused(options: PopulationOptions) -> None:
    with pytest.raises(DatagenError):
        list(generate_population(options))
    assert issubclass(DatagenError, ValidationFailed)


def test_gb18030_csv_round_trips_kangxi_names(tmp_path: Path) -> None:
    options = PopulationOptions(
        rows=3_000, seed=2, defect_rate=0.2, defects=(d.KANGXI_RADICAL,), chunk_size=1_000
    )
    target = tmp_path / "population.csv"
    assert write_to_file(generate_population(options), target, "csv", "gb18030") == 3_000
    raw = target.read_bytes()
    text = raw.decode("gb18030")
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")  # Kangxi radicals are outside GBK: that is why GB18030 is needed
    back = pacsv.read_csv(target, read_options=pacsv.ReadOptions(encoding="gb18030"))
    expected = pa.concat_tables(generate_population(options))
    assert back.column("name").to_pylist() == expected.column("name").to_pylist()
    assert back.column("id_number").to_pylist() == expected.column("id_number").to_pylist()
    assert text.count("\n") == 3_001


def test_other_file_formats(tmp_path: Path) -> None:
    options = PopulationOptions(rows=1_500, seed=4, defect_rate=0.1, chunk_size=500)
    bom = tmp_path / "p.csv"
    write_to_file(generate_population(options), bom, "csv", "utf-8-sig", headers={"name": "姓名"})
    assert bom.read_bytes().startswith("\ufeff".encode())
    assert "姓名" in bom.read_text(encoding="utf-8-sig").splitlines()[0]
    lines = tmp_path / "p.jsonl"
    write_to_file(generate_population(options), lines, "jsonl")
    assert len(lines.read_text(encoding="utf-8").splitlines()) == 1_500
    parquet = tmp_path / "p.parquet"
    write_to_file(generate_population(options), parquet, "parquet")
    written = pq.read_table(parquet)
    assert written.equals(pa.concat_tables(generate_population(options)))
    assert pq.ParquetFile(parquet).metadata.num_row_groups == 3


def test_writing_to_the_store_twice_adds_nothing(tmp_path: Path) -> None:
    store = ParquetDuckDBStore(tmp_path)
    options = PopulationOptions(rows=2_500, seed=4, chunk_size=1_000)
    for _ in range(2):
        assert write_to_store(generate_population(options), store, "population", "gen-s4") == 2_500
    assert store.count("population") == 2_500
    assert store.batches("population") == ["gen-s4-00000", "gen-s4-00001", "gen-s4-00002"]


def test_memory_does_not_grow_with_rows() -> None:
    def peak(chunks: int) -> tuple[int, int]:
        tracemalloc.start()
        arrow_peak = 0
        for table in generate_population(PopulationOptions(rows=chunks * 20_000, seed=1, chunk_size=20_000)):
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes())
            del table
        _, numpy_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return numpy_peak, arrow_peak

    small, large = peak(2), peak(12)
    assert large[0] < small[0] * 1.3
    assert large[1] < small[1] * 1.3 + 2**20


def test_cli_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app,
        [
            *("population", "--rows", "1200", "--seed", "7", "--defect-rate", "0.01", "--format", "csv"),
            *("--encoding", "gb18030", "--out", str(target), "--chunk-size", "500", "--chinese-headers"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes().decode("gb18030").startswith('"记录编号","公民身份号码","姓名"')
    refused = CliRunner().invoke(app, ["population", "--rows", "10", "--defects", "nonsense"])
    assert refused.exit_code != 0
