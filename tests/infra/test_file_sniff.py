"""Type detection by content and the signature scanner; no database."""

from __future__ import annotations

import io
import zipfile

import pytest

from wanshi.infra.files import sniff as sniff_module
from wanshi.infra.files.blobstore import CHUNK_BYTES
from wanshi.infra.files.scan import EICAR, Signature, SignatureScanner
from wanshi.infra.files.sniff import EXECUTABLE_TYPES, sniff_media_type

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 100
MAIN_PART = "application/vnd.openxmlformats-officedocument.{}.main+xml"


def _sniff(data: bytes) -> str:
    return sniff_media_type(io.BytesIO(data))


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _ooxml(part: str, main_type: str, *, content_types_first: bool = True) -> bytes:
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Override PartName="/{part}" ContentType="{main_type}"/></Types>'
    ).encode()
    entries = {"[Content_Types].xml": content_types, part: b"<doc/>", "docProps/app.xml": b"<app/>"}
    if not content_types_first:
        # The first local header is then no help; only the central directory tells.
        entries = {"media/big.bin": b"\x00" * 20000, **entries}
    return _zip(entries)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (
            _ooxml("word/document.xml", MAIN_PART.format("wordprocessingml.document")),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            _ooxml("xl/workbook.xml", MAIN_PART.format("spreadsheetml.sheet"), content_types_first=False),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            _ooxml("xl/workbook.xml", "application/vnd.ms-excel.sheet.macroEnabled.main+xml"),
            "application/vnd.ms-excel.sheet.macroEnabled.12",
        ),
        (_zip({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>"}), "application/ofd"),
        (_zip({"readme.txt": b"hello", "data/table.csv": b"a,b\n1,2\n"}), "application/zip"),
        (b"PK\x03\x04" + b"\x14\x00" * 40, "application/octet-stream"),
        (bytes(range(256)) * 4, "application/octet-stream"),
    ],
)
def test_binary_formats_by_magic_and_container_content(data: bytes, expected: str) -> None:
    assert _sniff(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (EXE, "application/x-msdownload"),
        (ELF, "application/x-executable"),
        (b"#!/bin/sh\nrm -rf /\n", "text/x-script"),
        (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 64, "application/x-mach-binary"),
        (
            _zip({"META-INF/MANIFEST.MF": b"Main-Class: A\n", "A.class": b"\xca\xfe\xba\xbe"}),
            "application/java-archive",
        ),
    ],
)
def test_executables_are_recognised_as_such(data: bytes, expected: str) -> None:
    media_type = _sniff(data)
    assert media_type == expected
    assert media_type in EXECUTABLE_TYPES


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("申请人：张三\n事项：营业执照变更\n".encode(), "text/plain"),
        ("申请人：张三\n事项：营业执照变更\n".encode("gbk"), "text/plain"),
        ("姓名,年龄,地区\n张三,30,合肥\n李四,41,芜湖\n".encode(), "text/csv"),
        ("姓名,年龄,地区\r\n张三,30,合肥\r\n李四,41,芜湖".encode("gbk"), "text/csv"),
        ("\ufeff编号;名称\n1;甲\n2;乙\n".encode(), "text/csv"),
        ("代码\t名称\n340100\t合肥市\n340200\t芜湖市\n".encode(), "text/csv"),
        ('{"事项": "营业执照", "材料": [1, 2]}'.encode(), "application/json"),
        ('\ufeff[{"a": 1}, {"a": 2}]'.encode(), "application/json"),
        (b'{"a": 1,}', "text/plain"),
        (b"42", "text/plain"),
        (b"one line, with a comma\n", "text/plain"),
        (b"Dear applicant\nYour case is accepted\nRegards\n", "text/plain"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "text/html"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b"  <record><id>1</id></record>", "application/xml"),
        (b"text with a \x00 inside", "application/octet-stream"),
        (b"\xff\xfeh\x00i\x00", "application/octet-stream"),
    ],
)
def test_text_formats(data: bytes, expected: str) -> None:
    assert _sniff(data) == expected


def test_gbk_sample_is_not_utf8() -> None:
    with pytest.raises(UnicodeDecodeError):
        "申请人：张三".encode("gbk").decode("utf-8")


def test_whole_text_is_checked_and_characters_may_straddle_chunks() -> None:
    text = ("a" * (CHUNK_BYTES - 1) + "中文\n").encode()
    assert _sniff(text) == "text/plain"
    # Valid text for a megabyte, then binary: not text.
    assert _sniff(text + b"\x00\x01\x02") == "application/octet-stream"


def test_json_past_the_parse_limit_is_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b'{"rows": [' + b",".join(b"1" for _ in range(100)) + b"]}"
    assert _sniff(data) == "application/json"
    monkeypatch.setattr(sniff_module, "JSON_PARSE_LIMIT", 50)
    assert _sniff(data) == "text/plain"


def test_eicar_is_found_even_across_chunk_boundaries() -> None:
    assert len(EICAR.pattern) == 68
    data = b"a" * (CHUNK_BYTES - 30) + EICAR.pattern + b"b" * 10
    result = SignatureScanner().scan(io.BytesIO(data))
    assert not result.clean
    assert result.detail == "EICAR-Test-File"


def test_clean_content_and_custom_signatures() -> None:
    scanner = SignatureScanner([EICAR, Signature("Test-Marker", b"\xde\xad\xbe\xef")])
    assert scanner.scan(io.BytesIO(PDF)).clean
    assert scanner.scan(io.BytesIO(PDF + b"\xde\xad\xbe\xef")).detail == "Test-Marker"
    with pytest.raises(ValueError, match="non-empty"):
        SignatureScanner([Signature("empty", b"")])
