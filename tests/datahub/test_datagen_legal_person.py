from __future__ import annotations

import json
import unicodedata
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from wanshi.datahub.datagen import defects as d
from wanshi.datahub.datagen.cli import app
from wanshi.datahub.datagen.legal_person import LegalPersonOptions, generate_legal_persons
from wanshi.datahub.datagen.population import PopulationOptions, generate_population
from wanshi.kernel.identifiers import (
    InvalidCreditCode,
    validate_credit_code,
    validate_org_code,
    validate_resident_id,
)
from wanshi.org.api import bundled_division_table


@cache
def known_divisions() -> frozenset[str]:
    return frozenset(line.split("\t")[2] for line in bundled_division_table().splitlines()[1:])


def rows(n: int, seed: int = 1, rate: float = 0.0, chunk: int = 20_000) -> list[dict[str, object]]:
    options = LegalPersonOptions(rows=n, seed=seed, defect_rate=rate, chunk_size=chunk)
    records: list[dict[str, object]] = pa.concat_tables(generate_legal_persons(options)).to_pylist()
    return records


def test_clean_records_have_valid_unique_codes() -> None:
    records = rows(30_000, chunk=7_000)
    codes = [str(r["credit_code"]) for r in records]
    assert len(set(codes)) == len(codes)
    for r in records:
        info = validate_credit_code(str(r["credit_code"]))
        validate_org_code(info.org_code)
        assert info.warnings == ()
        assert info.division_code == r["division"]
        assert info.division_code in known_divisions()
        assert info.division_code.startswith("34")
        assert info.category_name is not None
        assert r["name"]
        assert r["legal_rep_name"]
        validate_resident_id(str(r["legal_rep_id_number"]))
        established = date.fromisoformat(str(r["established_date"]))
        assert date(1980, 1, 1) <= established <= date(2025, 12, 31)
        if established >= date(2015, 10, 1):
            assert info.org_code.startswith("MA")
        assert r["status"] in ("存续", "在业", "注销", "吊销")
        assert (r["registered_capital"] is None) == (info.value[:2] in ("92", "11"))


def test_category_mix_looks_like_reality() -> None:
    records = rows(50_000, seed=2, chunk=25_000)
    share = {
        k: sum(str(r["credit_code"]).startswith(k) for r in records) / len(records) for k in ("91", "92")
    }
    assert share["92"] == pytest.approx(0.64, abs=0.02)
    assert share["91"] == pytest.approx(0.33, abs=0.02)
    enterprises = [str(r["name"]) for r in records if str(r["credit_code"]).startswith("91")]
    assert sum(n.endswith("有限公司") for n in enterprises) / len(enterprises) > 0.7


def test_same_seed_same_data() -> None:
    assert rows(3_000, seed=4, rate=0.2, chunk=1_000) == rows(3_000, seed=4, rate=0.2, chunk=1_000)
    assert rows(3_000, seed=4) != rows(3_000, seed=5)


def test_defects_fail_exactly_as_labelled() -> None:
    records = rows(20_000, seed=6, rate=0.3, chunk=5_000)
    assert {r["defect"] for r in records} == {None, *d.LEGAL_PERSON_DEFECTS}
    by_id = {r["record_id"]: r for r in records if r["defect"] is None}
    for r in records:
        label, code = r["defect"], str(r["credit_code"])
        if label is None or label in (d.DUPLICATE_EXACT, d.KANGXI_RADICAL):
            validate_credit_code(code)
        if label == d.USCC_CHECK_CHAR:
            with pytest.raises(InvalidCreditCode) as caught:
                validate_credit_code(code)
            assert caught.value.details["reason"] == "check_char"
        elif label == d.INVALID_DATE:
            with pytest.raises(ValueError):  # noqa: PT011 - date parsing has no narrower error
                date.fromisoformat(str(r["established_date"]))
        elif label == d.UNKNOWN_DIVISION:
            assert validate_credit_code(code).division_code not in known_divisions()
            assert r["division"] not in known_divisions()
        elif label == d.FULLWIDTH_DIGITS:
            assert not code.isascii()
            validate_credit_code(unicodedata.normalize("NFKC", code))
        elif label == d.KANGXI_RADICAL:
            assert any(0x2F00 <= ord(ch) <= 0x2FD5 for ch in str(r["legal_rep_name"]))
        elif label == d.NEAR_DUPLICATE:
            assert near_kind(by_id[r["duplicate_of"]], r) in d.ENTERPRISE_NEAR_MIX
        elif label == d.DUPLICATE_EXACT:
            original = by_id[r["duplicate_of"]]
            assert r["record_id"] == original["record_id"]
            assert r["name"] == original["name"]


def _renamed(original: str, name: str) -> bool:
    """True when the name is written another way, as departments do; fails on any other difference."""
    if name == original:
        return False
    variants = {
        original.replace("有限责任公司", "有限公司", 1),
        original.replace("有限公司", "有限责任公司", 1),
    }
    for mark in ("市", "县", "区"):
        if mark in original[:6] and not original.endswith(mark):
            variants.add(original[original.index(mark) + 1 :])
            break
    if original.endswith("分公司") and name.endswith("分公司）"):
        assert name.replace("（", "").replace("）", "") == original
        return True
    one_typo = len(name) == len(original) and sum(a != b for a, b in zip(name, original, strict=True)) == 1
    assert name in variants or one_typo, (original, name)
    return True


def near_kind(original: dict[str, object], r: dict[str, object]) -> str:
    """Which kind of near-duplicate ``r`` is; fails when it differs from its source in any other way."""
    others = (
        "entity_type",
        "legal_rep_name",
        "legal_rep_id_number",
        "established_date",
        "division",
        "address",
    )
    assert all(r[k] == original[k] for k in others)
    renamed = _renamed(str(original["name"]), str(r["name"]))
    code, first = r["credit_code"], str(original["credit_code"])
    if code is None:
        return d.CODE_MISSING
    if code == first:
        assert renamed
        return d.RENAMED
    assert sum(a != b for a, b in zip(str(code), first, strict=True)) == 1
    assert str(code)[17] == first[17]
    with pytest.raises(InvalidCreditCode):
        validate_credit_code(str(code))
    return d.CODE_TYPO


def test_near_duplicates_have_mistyped_or_missing_codes_and_renamed_names() -> None:
    options = LegalPersonOptions(
        rows=60_000, seed=8, defect_rate=0.2, chunk_size=30_000, defects=(d.NEAR_DUPLICATE,)
    )
    records = pa.concat_tables(generate_legal_persons(options)).to_pylist()
    originals = {r["record_id"]: r for r in records if r["defect"] is None}
    near = [r for r in records if r["defect"] == d.NEAR_DUPLICATE]
    kinds = Counter(near_kind(originals[r["duplicate_of"]], r) for r in near)
    for kind, share in d.ENTERPRISE_NEAR_MIX.items():
        assert kinds[kind] / len(near) == pytest.approx(share, abs=0.03), kind
    with_code = [r for r in near if r["credit_code"] != originals[r["duplicate_of"]]["credit_code"]]
    renamed = sum(r["name"] != originals[r["duplicate_of"]]["name"] for r in with_code)
    assert renamed / len(with_code) == pytest.approx(d.ALSO_RENAMED_SHARE, abs=0.03)
    names = [(str(originals[r["duplicate_of"]]["name"]), str(r["name"])) for r in near]
    assert any(n.endswith("有限责任公司") and o.endswith("有限公司") for o, n in names)
    assert any(n.endswith("分公司）") for _, n in names)
    assert any(o.endswith(n) and o != n for o, n in names)  # the city prefix dropped


def test_cli_refuses_population_only_defects() -> None:
    result = CliRunner().invoke(app, ["legal-person", "--rows", "10", "--defects", d.ID_CHECK_CHAR])
    assert result.exit_code != 0


def test_cli_links_representatives(tmp_path: Path) -> None:
    target = tmp_path / "legal.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "legal-person",
            "--rows",
            "300",
            "--persons-rows",
            "1000",
            "--format",
            "jsonl",
            "--out",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    first = json.loads(target.read_text(encoding="utf-8").splitlines()[0])
    assert 1 <= first["legal_rep_person_id"] <= 1000


def test_legal_representatives_can_be_people_of_a_population_dataset() -> None:
    persons = PopulationOptions(rows=5_000, seed=11, defect_rate=0.2, chunk_size=2_000)
    everyone = pa.concat_tables(generate_population(persons)).to_pylist()
    people = {r["record_id"]: r for r in everyone if r["defect"] is None}
    options = LegalPersonOptions(rows=4_000, seed=12, chunk_size=1_500, persons=persons)
    records = pa.concat_tables(generate_legal_persons(options)).to_pylist()
    for r in records:
        if r["defect"] is not None:
            continue
        person = people[r["legal_rep_person_id"]]
        assert (person["name"], person["id_number"]) == (r["legal_rep_name"], r["legal_rep_id_number"])
        assert str(person["birth_date"]) <= "2003-12-31"
    unlinked = rows(100)
    assert {r["legal_rep_person_id"] for r in unlinked} == {None}
