"""`wanshi pack load DIR`: apply a pack idempotently, kind by kind, in the order pack.yaml lists them.

pack.yaml:
    name: anhui
    title: 安徽省参考包
    version: "2026.11"
    files:
      - {kind: organisations, file: organisations.yaml}
      - {kind: staff_users, file: users.yaml}

Each kind has one loader that upserts by natural key, so loading the same pack twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wanshi.bootstrap import Platform
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import ValidationFailed, WanshiError


@dataclass(frozen=True)
class KindResult:
    kind: str
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class PackFile:
    """One file of the pack as its kind's loader gets it: the parsed content, and where it came from so
    that the loader can read files it names (a rule file) and name the file in its error messages."""

    path: Path
    data: Any

    @property
    def directory(self) -> Path:
        return self.path.parent

    def entries(self, key: str) -> list[Any]:
        """The list under ``key`` of a file that must be an object (``{resources: [...]}``)."""
        if self.data is None:
            return []
        found = self.data.get(key, []) if isinstance(self.data, dict) else None
        if not isinstance(found, list):
            raise ValidationFailed(
                f"包文件 {self.path.name} 须为对象，其 {key} 为列表", code="pack_file_invalid"
            )
        return found

    def read(self, relative: str) -> str:
        """The text of a file the pack file names, relative to the pack folder and kept inside it."""
        root = self.directory.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise ValidationFailed(f"包文件不存在：{relative}", code="pack_file_missing")
        return path.read_text(encoding="utf-8")


KindLoader = Callable[[Platform, UnitOfWork, PackFile, Actor], KindResult]


@contextmanager
def naming_entry(pack_file: PackFile, index: int, label: str) -> Iterator[None]:
    """Re-raise a refusal of one entry with the file, the position and the entry's key in the message;
    ``details["reason"]`` keeps the refusing service's own stable code."""
    where = f"包文件 {pack_file.path.name} 第 {index + 1} 项" + (f"（{label}）" if label else "")
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(
            f"{where}：{place} 无效（{first['msg']}）", code="pack_entry_invalid", reason="invalid"
        ) from exc
    except WanshiError as exc:
        raise ValidationFailed(
            f"{where}：{exc.message}", code="pack_entry_invalid", reason=exc.error_code
        ) from exc


def each_entry(pack_file: PackFile, key: str, label_key: str) -> Iterator[tuple[int, str, Any]]:
    """(index, label, entry) of the list under ``key``; a non-object entry is refused by position."""
    for index, entry in enumerate(pack_file.entries(key)):
        if not isinstance(entry, dict):
            raise ValidationFailed(
                f"包文件 {pack_file.path.name} 第 {index + 1} 项须为对象", code="pack_entry_invalid"
            )
        yield index, str(entry.get(label_key, "")), entry


def read_pack_file(path: Path) -> Any:
    if not path.exists():
        raise ValidationFailed(f"包文件不存在：{path}", code="pack_file_missing")
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"包文件 {path.name} 格式错误：{exc}", code="pack_file_invalid") from exc


def load_pack(
    platform: Platform,
    directory: Path,
    actor: Actor,
    loaders: dict[str, KindLoader],
    progress: Callable[[str], None] | None = None,
) -> list[KindResult]:
    manifest = read_pack_file(directory / "pack.yaml")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise ValidationFailed("pack.yaml 须包含 files 列表", code="pack_manifest_invalid")
    results = []
    for entry in manifest["files"]:
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind not in loaders:
            raise ValidationFailed(
                f"未知的包内容类型：{kind}（可用：{'、'.join(sorted(loaders))}）", code="pack_kind_unknown"
            )
        if progress:
            progress(f"{kind}: {entry['file']}")
        path = directory / str(entry["file"])
        pack_file = PackFile(path, read_pack_file(path))
        with platform.uow() as uow:
            results.append(loaders[kind](platform, uow, pack_file, actor))
    return results
