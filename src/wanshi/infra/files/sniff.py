"""Media type from content alone: a file's name and the type its uploader claims never decide.

Binary formats come from their magic numbers (the ``filetype`` package); ZIP containers are told apart
by what is inside (OOXML content-type parts, OFD's root ``OFD.xml``); everything else is text only if
the whole content is valid UTF-8 or GB18030 without binary control bytes.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
import zlib
from typing import BinaryIO

import filetype

from wanshi.infra.files.blobstore import CHUNK_BYTES

HEAD_BYTES = 8192  # filetype's matchers look no further
JSON_PARSE_LIMIT = 4 * 1024 * 1024  # parsing needs the whole text in memory; larger JSON is typed text/plain
CSV_SNIFF_CHARS = 1024
_CONTENT_TYPES_LIMIT = 256 * 1024

OCTET_STREAM = "application/octet-stream"
PDF = "application/pdf"
ZIP = "application/zip"
OFD = "application/ofd"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOCM = "application/vnd.ms-word.document.macroEnabled.12"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"
TEXT = "text/plain"
CSV = "text/csv"
JSON = "application/json"
HTML = "text/html"
SVG = "image/svg+xml"
XML = "application/xml"

WINDOWS_EXECUTABLE = "application/x-msdownload"
ELF_EXECUTABLE = "application/x-executable"
MACH_O_EXECUTABLE = "application/x-mach-binary"
SCRIPT = "text/x-script"
JAVA_ARCHIVE = "application/java-archive"
ANDROID_PACKAGE = "application/vnd.android.package-archive"

# Refused whatever the allowed-type list says.
EXECUTABLE_TYPES = frozenset(
    {WINDOWS_EXECUTABLE, ELF_EXECUTABLE, MACH_O_EXECUTABLE, SCRIPT, JAVA_ARCHIVE, ANDROID_PACKAGE}
)

_EXECUTABLE_MAGIC = (
    (b"MZ", WINDOWS_EXECUTABLE),
    (b"\x7fELF", ELF_EXECUTABLE),
    (b"\xfe\xed\xfa\xce", MACH_O_EXECUTABLE),
    (b"\xfe\xed\xfa\xcf", MACH_O_EXECUTABLE),
    (b"\xce\xfa\xed\xfe", MACH_O_EXECUTABLE),
    (b"\xcf\xfa\xed\xfe", MACH_O_EXECUTABLE),
    (b"\xca\xfe\xba\xbe", MACH_O_EXECUTABLE),  # also a Java class file: executable either way
    (b"#!", SCRIPT),
)

# The main part's content type in [Content_Types].xml names the document kind; macro-enabled kinds get
# their own types so that the allowed list refuses them.
_OOXML_MAIN_PARTS = (
    (b"wordprocessingml.document.main+xml", DOCX),
    (b"spreadsheetml.sheet.main+xml", XLSX),
    (b"presentationml.presentation.main+xml", PPTX),
    (b"ms-word.document.macroEnabled.main+xml", DOCM),
    (b"ms-excel.sheet.macroEnabled.main+xml", XLSM),
)

# C0 controls other than tab, line feed, vertical tab, form feed, carriage return and escape never
# appear in text; in both UTF-8 and GB18030 every byte of a multi-byte character is >= 0x30.
_BINARY_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def sniff_media_type(content: BinaryIO) -> str:
    """The media type of a complete, seekable content stream; OCTET_STREAM when nothing fits."""
    content.seek(0)
    head = content.read(HEAD_BYTES)
    for magic, media_type in _EXECUTABLE_MAGIC:
        if head.startswith(magic):
            return media_type
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(content)
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    return _text_type(content, head)


def _zip_type(content: BinaryIO) -> str:
    # The central directory at the end is authoritative; the first local headers are not.
    try:
        with zipfile.ZipFile(content) as archive:
            names = set(archive.namelist())
            if "OFD.xml" in names:
                return OFD
            if "AndroidManifest.xml" in names and "classes.dex" in names:
                return ANDROID_PACKAGE
            if "META-INF/MANIFEST.MF" in names and any(n.endswith(".class") for n in names):
                return JAVA_ARCHIVE
            if "[Content_Types].xml" in names:
                with archive.open("[Content_Types].xml") as part:
                    declared = part.read(_CONTENT_TYPES_LIMIT)
                for marker, media_type in _OOXML_MAIN_PARTS:
                    if marker in declared:
                        return media_type
            return ZIP
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        # Damaged, encrypted or exotic archives cannot be told apart, so they are refused as unknown.
        return OCTET_STREAM


def _text_type(content: BinaryIO, head: bytes) -> str:
    encoding = next((e for e in ("utf-8", "gb18030") if _decodes_whole(content, e)), None)
    if encoding is None:
        return OCTET_STREAM
    whole = len(head) < HEAD_BYTES
    sample = codecs.getincrementaldecoder(encoding)().decode(head, final=whole).removeprefix("\ufeff")
    start = sample.lstrip()
    if start.startswith("<"):
        # Browsers sniff markup at the start of a response; it must not pass as plain text.
        lowered = start[:1024].lower()
        if "<svg" in lowered:
            return SVG
        if "<html" in lowered or "<!doctype html" in lowered:
            return HTML
        return XML
    if encoding == "utf-8" and start[:1] in ("{", "[") and _parses_as_json(content):
        return JSON
    if _looks_like_csv(sample, whole=whole):
        return CSV
    return TEXT


def _decodes_whole(content: BinaryIO, encoding: str) -> bool:
    content.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := content.read(CHUNK_BYTES):
            if _BINARY_CONTROL.search(chunk):
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _parses_as_json(content: BinaryIO) -> bool:
    content.seek(0)
    data = content.read(JSON_PARSE_LIMIT + 1)
    if len(data) > JSON_PARSE_LIMIT:
        return False
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict | list)


def _looks_like_csv(sample: str, *, whole: bool) -> bool:
    # Only complete lines count: the sample may end in the middle of a row.
    text = sample if whole else sample[: sample.rfind("\n") + 1]
    first_kb = text[:CSV_SNIFF_CHARS]
    try:
        dialect = csv.Sniffer().sniff(first_kb[: first_kb.rfind("\n") + 1] or text, delimiters=",;\t|")
    except csv.Error:
        return False
    try:
        widths = [len(row) for row in csv.reader(io.StringIO(text), dialect) if row]
    except csv.Error:
        return False
    return len(widths) >= 2 and widths[0] >= 2 and all(w == widths[0] for w in widths)
