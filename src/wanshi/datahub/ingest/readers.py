"""Streaming readers: every format becomes a sequence of Arrow tables whose columns are all strings.

Reading everything as text keeps the source's own spelling ("007", "2020年10月24日") for the coercion step
and for the quarantine, which must show the original values. No reader holds the whole file in memory.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from wanshi.datahub.ingest.domain import SourceFormat
from wanshi.kernel.errors import ValidationFailed

SAMPLE_BYTES = 1 << 20
HASH_BLOCK = 4 << 20
# The streaming reader reads ahead several blocks; small blocks keep that (and peak memory) small.
CSV_BLOCK_BYTES = 1 << 20
CHUNK_ROWS = 100_000
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_SUFFIXES = {
    ".csv": SourceFormat.CSV,
    ".txt": SourceFormat.CSV,
    ".xlsx": SourceFormat.XLSX,
    ".jsonl": SourceFormat.JSONL,
    ".ndjson": SourceFormat.JSONL,
    ".parquet": SourceFormat.PARQUET,
}


def guess_format(path: Path) -> SourceFormat:
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ValidationFailed(
            f"无法从扩展名“{path.suffix}”判断文件格式：支持 CSV、XLSX、JSON Lines、Parquet", field="format"
        ) from None


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def detect_encoding(path: Path) -> str:
    """BOM first; then a strict UTF-8 decode of the first MiB; anything else is read as GB18030.

    GB18030 is a superset of GBK and GB2312 and, unlike GBK, encodes every Unicode character (Kangxi
    radicals included), so it is the right reading for every legacy Chinese export.
    """
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    try:
        # Not final: the sample may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


@dataclass(frozen=True)
class Opened:
    encoding: str
    chunks: Iterator[pa.Table]


def open_source(
    path: Path, fmt: SourceFormat, *, encoding: str | None = None, chunk_rows: int = CHUNK_ROWS
) -> Opened:
    if fmt is SourceFormat.CSV:
        used = encoding or detect_encoding(path)
        return Opened(used, rechunk(_csv_chunks(path, used), chunk_rows))
    if fmt is SourceFormat.XLSX:
        return Opened("xlsx", _xlsx_chunks(path, chunk_rows))
    if fmt is SourceFormat.JSONL:
        used = encoding or detect_encoding(path)
        return Opened(used, _jsonl_chunks(path, used, chunk_rows))
    if fmt is SourceFormat.PARQUET:
        return Opened("parquet", _parquet_chunks(path, chunk_rows))
    raise ValidationFailed(f"文件不支持格式 {fmt.value}", field="format")


def _csv_chunks(path: Path, encoding: str) -> Iterator[pa.Table]:
    read = pacsv.ReadOptions(encoding=encoding, block_size=CSV_BLOCK_BYTES)
    with pacsv.open_csv(path, read_options=read) as probe:
        names = probe.schema.names
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        null_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    with pacsv.open_csv(path, read_options=read, convert_options=convert) as reader:
        for batch in reader:
            if batch.num_rows:
                yield pa.Table.from_batches([batch])


def rechunk(tables: Iterator[pa.Table], chunk_rows: int) -> Iterator[pa.Table]:
    """Chunks of exactly ``chunk_rows`` rows (the last one shorter), whatever the reader's block size: a
    chunk's number then names the same rows in every run, which exactly-once loading relies on."""
    pending: list[pa.Table] = []
    size = 0
    for table in tables:
        pending.append(table)
        size += table.num_rows
        while size >= chunk_rows:
            whole = pa.concat_tables(pending)
            yield whole.slice(0, chunk_rows)
            rest = whole.slice(chunk_rows)
            pending, size = ([rest] if rest.num_rows else []), rest.num_rows
    if size:
        yield pa.concat_tables(pending)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        # Spreadsheets store whole numbers as floats: 42.0 is the 42 the user typed.
        return str(int(value))
    if isinstance(value, datetime):
        # Spreadsheet date cells come back as midnight datetimes; a date field must still accept them.
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _table(names: list[str], rows: list[list[str | None]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table({n: pa.array(c, type=pa.string()) for n, c in zip(names, columns, strict=True)})


def _xlsx_chunks(path: Path, chunk_rows: int) -> Iterator[pa.Table]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return
        names = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        width = len(names)
        pending: list[list[str | None]] = []
        for row in rows:
            values = [_text(v) for v in row[:width]]
            if all(v is None for v in values):
                continue
            pending.append(values + [None] * (width - len(values)))
            if len(pending) >= chunk_rows:
                yield _table(names, pending)
                pending = []
        if pending:
            yield _table(names, pending)
    finally:
        book.close()


def _jsonl_chunks(path: Path, encoding: str, chunk_rows: int) -> Iterator[pa.Table]:
    # pyarrow's JSON reader refuses a column that is a number in one line and text in another, which
    # real exports do; parsing by line keeps every value as written.
    pending: list[dict[str, Any]] = []
    with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationFailed(f"第{number}行不是有效的 JSON：{exc.msg}", field="file") from None
            if not isinstance(record, dict):
                raise ValidationFailed(f"第{number}行不是 JSON 对象", field="file")
            pending.append(record)
            if len(pending) >= chunk_rows:
                yield records_table(pending)
                pending = []
    if pending:
        yield records_table(pending)


def records_table(records: list[dict[str, Any]]) -> pa.Table:
    """Text columns from JSON objects (JSON Lines, pushed batches), in order of first appearance."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    return pa.table(
        {name: pa.array([_text(r.get(name)) for r in records], type=pa.string()) for name in names}
    )


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pa.Table]:
    source = pq.ParquetFile(path)
    for batch in source.iter_batches(batch_size=chunk_rows):
        yield as_text(pa.Table.from_batches([batch]))


def as_text(table: pa.Table) -> pa.Table:
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type):
            columns.append(column)
        elif pa.types.is_large_string(column.type) or pa.types.is_dictionary(column.type):
            columns.append(column.cast(pa.string()))
        elif pa.types.is_timestamp(column.type):
            columns.append(pa.array([_text(v) for v in column.to_pylist()], type=pa.string()))
        else:
            columns.append(column.cast(pa.string()))
    return pa.table(columns, names=table.column_names)


def estimate_rows(path: Path, fmt: SourceFormat) -> int | None:
    """About how many records the file holds, for a progress bar: exact for Parquet, the line count for
    text (a quoted line break makes it an over-estimate), the sheet's recorded size for XLSX."""
    if fmt is SourceFormat.PARQUET:
        return int(pq.ParquetFile(path).metadata.num_rows)
    if fmt in (SourceFormat.CSV, SourceFormat.JSONL):
        lines = 0
        last = b"\n"
        with path.open("rb") as handle:
            while block := handle.read(HASH_BLOCK):
                lines += block.count(b"\n")
                last = block[-1:]
        lines += last != b"\n"
        return max(lines - (fmt is SourceFormat.CSV), 0)
    if fmt is SourceFormat.XLSX:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        try:
            rows = book.worksheets[0].max_row
        finally:
            book.close()
        return max(int(rows) - 1, 0) if rows else None
    return None
