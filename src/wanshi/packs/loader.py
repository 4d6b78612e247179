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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wanshi.bootstrap import Platform
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import ValidationFailed


@dataclass(frozen=True)
class KindResult:
    kind: str
    created: int
    updated: int
    unchanged: int


KindLoader = Callable[[Platform, UnitOfWork, Any, Actor], KindResult]


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
        data = read_pack_file(directory / str(entry["file"]))
        with platform.uow() as uow:
            results.append(loaders[kind](platform, uow, data, actor))
    return results
