"""Loading files end to end, on SQLite and PostgreSQL: the issue's acceptance, formats, exactly-once."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook
from sqlalchemy import select

from wanshi.bootstrap import Platform
from wanshi.datahub.ingest import api as ingest
from wanshi.datahub.ingest.tables import load as load_table
from wanshi.datahub.store import StoreError
from wanshi.infra.tables import audit_entry
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind
from wanshi.kernel.errors import PermissionDenied
from wanshi.kernel.identifiers import generate_resident_id

SCHEMA = ingest.parse_schema(
    {
        "fields": [
            {"name": "id_number", "label": "身份证号", "required": True, "identifier": "resident_id"},
            {"name": "name", "label": "姓名", "required": True, "max_length": 20},
            {"name": "birth_date", "label": "出生日期", "type": "date"},
            {"name": "income", "label": "收入", "type": "decimal", "scale": 2},
        ]
    }
)
MAPPING = ingest.FieldMapping(
    {"id_number": "身份证号", "name": "姓名", "birth_date": "出生日期", "income": "收入"}
)
GOOD_1 = generate_resident_id("340102", date(1990, 1, 2), 11)
GOOD_2 = generate_resident_id("340104", date(1985, 5, 6), 12)
WRONG_CHECK = GOOD_1[:17] + ("0" if GOOD_1[17] != "0" else "1")


def _load(platform: Platform, path: Path, dataset: str = "people", **extra: object) -> ingest.Load:
    cmd = ingest.LoadFile(path=path, dataset=dataset, schema=SCHEMA, mapping=MAPPING, **extra)  # type: ignore[arg-type]
    with platform.uow() as uow:
        return ingest.load_file(uow, platform.datastore, cmd, SYSTEM)


def _rows(platform: Platform, dataset: str = "people") -> list[dict[str, object]]:
    return platform.datastore.query(f"SELECT * EXCLUDE (batch) FROM {dataset} ORDER BY _row").to_pylist()


def _acceptance_csv(path: Path) -> Path:
    lines = [
        "身份证号,姓名,出生日期,收入",
        f'{GOOD_1},李⼤⼒,1990年1月2日,"１２，３４５.５０"',  # Kangxi radicals ⼤ ⼒, full-width digits
        f"{GOOD_2},　张三　,19850506,800",
        f"{WRONG_CHECK},王五,1990/01/02,1",
        f"{GOOD_2},　张三　,19850506,800",  # an exact duplicate line
    ]
    # GB18030: GBK for the ordinary characters, four-byte sequences for the Kangxi radicals.
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    return path


def test_gb18030_acceptance_quarantines_normalises_and_never_loads_twice(
    platform: Platform, tmp_path: Path
) -> None:
    source = _acceptance_csv(tmp_path / "人口.csv")
    first = _load(platform, source)
    assert first.status is ingest.LoadStatus.COMPLETE
    assert not first.repeated
    assert first.encoding == "gb18030"
    assert first.counts == ingest.LoadCounts(read=4, stored=2, quarantined=1, duplicate=1, chunks=1)

    rows = _rows(platform)
    assert [(r["id_number"], r["name"], r["birth_date"], str(r["income"])) for r in rows] == [
        (GOOD_1, "李大力", date(1990, 1, 2), "12345.50"),
        (GOOD_2, "张三", date(1985, 5, 6), "800.00"),
    ]
    assert {r["_source"] for r in rows} == {"人口.csv"}
    assert rows[0]["_loaded_at"] == first.started_at
    (bad,) = _rows(platform, ingest.quarantine_dataset("people"))
    assert bad["身份证号"] == WRONG_CHECK
    assert bad["姓名"] == "王五"
    assert bad["_row"] == 3
    assert bad["_reason_codes"] == "id_number:invalid_resident_id"
    assert "校验码" in str(bad["_reasons"])

    again = _load(platform, source)
    assert again.repeated
    assert again.id == first.id
    assert platform.datastore.count("people") == 2
    assert platform.datastore.count("people__quarantine") == 1
    with platform.uow() as uow:
        recorded = uow.session.execute(select(load_table)).one()
        actions = uow.session.execute(select(audit_entry.c.action)).scalars().all()
    assert recorded.status == "complete"
    assert recorded.encoding == "gb18030"
    assert recorded.rows_duplicate == 1
    assert recorded.content_hash
    assert recorded.created_by == "system"
    assert actions.count("datahub.load_completed") == 1
    assert "datahub.load_repeated" in actions


def _population_csv(path: Path, rows: int, *, bom: bool = False) -> Path:
    numbers = [
        generate_resident_id("340102", date(1980 + i % 30, 1 + i % 12, 1 + i % 28), i % 1000)
        for i in range(rows)
    ]
    text = "身份证号,姓名,出生日期,收入\n" + "".join(
        f"{numbers[i]},人{i},{1980 + i % 30}/{1 + i % 12}/{1 + i % 28},{i}\n" for i in range(rows)
    )
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_utf8_with_bom(platform: Platform, tmp_path: Path) -> None:
    result = _load(platform, _population_csv(tmp_path / "p.csv", 5, bom=True))
    assert result.encoding == "utf-8"
    assert result.counts.stored == 5
    assert _rows(platform)[0]["name"] == "人0"


def test_a_load_failing_after_some_chunks_reruns_to_exactly_the_right_rows(
    platform: Platform, tmp_path: Path
) -> None:
    source = _population_csv(tmp_path / "p.csv", 2_500)

    class Injected(RuntimeError):
        pass

    def crash_after_two(counts: ingest.LoadCounts) -> None:
        if counts.chunks == 2:
            raise Injected

    cmd = ingest.LoadFile(path=source, dataset="people", schema=SCHEMA, mapping=MAPPING, chunk_rows=500)
    with platform.uow() as uow, pytest.raises(Injected):
        ingest.load_file(uow, platform.datastore, cmd, SYSTEM, progress=crash_after_two)
    # Chunks already handed to the workers when the failure struck are finished, not abandoned.
    assert 1_000 <= platform.datastore.count("people") < 2_500
    with platform.uow() as uow:
        (failed,) = ingest.list_loads(uow, SYSTEM, dataset="people")
    assert failed.status is ingest.LoadStatus.FAILED

    with platform.uow() as uow:
        done = ingest.load_file(uow, platform.datastore, cmd, SYSTEM)
    assert done.id == failed.id
    assert done.status is ingest.LoadStatus.COMPLETE
    assert done.counts.stored == 2_500
    assert done.counts.chunks == 5
    assert platform.datastore.count("people") == 2_500
    distinct = platform.datastore.query(
        "SELECT count(DISTINCT _row) AS n, count(DISTINCT _loaded_at) AS t FROM people"
    )
    assert distinct.to_pylist() == [{"n": 2_500, "t": 1}]


def test_xlsx_jsonl_and_parquet(platform: Platform, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["身份证号", "姓名", "出生日期", "收入"])
    sheet.append([GOOD_1, "李⼤⼒", date(1990, 1, 2), 1234.5])
    sheet.append([GOOD_2, "张三", "1985年5月6日", 800])
    book.save(tmp_path / "p.xlsx")
    xlsx = _load(platform, tmp_path / "p.xlsx", dataset="from_xlsx")
    assert xlsx.counts.stored == 2
    assert [(r["name"], r["birth_date"], str(r["income"])) for r in _rows(platform, "from_xlsx")] == [
        ("李大力", date(1990, 1, 2), "1234.50"),
        ("张三", date(1985, 5, 6), "800.00"),
    ]

    records = [
        {"身份证号": GOOD_1, "姓名": "李四", "出生日期": "1990-01-02", "收入": 12},
        {"身份证号": GOOD_2, "姓名": "王五", "出生日期": "1985-13-06", "收入": "1,000"},
    ]
    (tmp_path / "p.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    jsonl = _load(platform, tmp_path / "p.jsonl", dataset="from_jsonl")
    assert (jsonl.counts.stored, jsonl.counts.quarantined) == (1, 1)
    (bad,) = _rows(platform, "from_jsonl__quarantine")
    assert bad["_reason_codes"] == "birth_date:not_date"
    assert bad["出生日期"] == "1985-13-06"

    pq.write_table(
        pa.table({"身份证号": [GOOD_1], "姓名": ["赵六"], "出生日期": [date(1990, 1, 2)], "收入": [3.5]}),
        tmp_path / "p.parquet",
    )
    parquet = _load(platform, tmp_path / "p.parquet", dataset="from_parquet")
    assert parquet.counts.stored == 1
    assert _rows(platform, "from_parquet")[0]["birth_date"] == date(1990, 1, 2)


def test_staff_without_a_data_role_may_not_load(platform: Platform, tmp_path: Path) -> None:
    nobody = Actor(kind=ActorKind.STAFF, user_id=9, username="nobody")
    cmd = ingest.LoadFile(
        path=_acceptance_csv(tmp_path / "a.csv"), dataset="people", schema=SCHEMA, mapping=MAPPING
    )
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        ingest.load_file(uow, platform.datastore, cmd, nobody)
    assert platform.datastore.datasets() == []


def test_a_dataset_name_without_room_for_its_quarantine_is_refused_up_front(
    platform: Platform, tmp_path: Path
) -> None:
    with pytest.raises(StoreError, match="数据集名称最长 51 个字符"):
        _load(platform, _population_csv(tmp_path / "p.csv", 2), dataset="d" * 60)
    with platform.engine.connect() as conn:
        assert conn.execute(select(load_table)).first() is None
