"""The reference tables shipped in ``data/``, read once on first use (never at import)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

Floats = npt.NDArray[np.float64]

# Kangxi radicals (U+2F00–U+2FD5) are what PDF extraction and some input methods put in place of the
# ordinary ideographs they look identical to; NFKC maps them back.
_KANGXI_FIRST, _KANGXI_LAST = 0x2F00, 0x2FD5


def _text(name: str) -> str:
    return resources.files("wanshi.datahub.datagen").joinpath("data", name).read_text(encoding="utf-8")


def _tsv(name: str) -> list[dict[str, str]]:
    lines = [line for line in _text(name).splitlines() if line and not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def _probabilities(weights: list[float]) -> Floats:
    array = np.asarray(weights, dtype=np.float64)
    result: Floats = array / array.sum()
    return result


@dataclass(frozen=True)
class Weighted:
    values: tuple[str, ...]
    p: Floats


@dataclass(frozen=True)
class Counties:
    codes: tuple[str, ...]
    names: tuple[str, ...]
    cities: tuple[str, ...]
    p: Floats
    is_district: npt.NDArray[np.bool_]  # 市辖区 (code digits 5-6 01-20): urban addresses
    unknown_codes: tuple[str, ...]  # one per county, structurally valid but absent from the division table


@dataclass(frozen=True)
class GivenNames:
    chars: tuple[str, ...]
    # (sex, era) -> probabilities over `chars`; sex "m"/"f", era "old"/"new".
    p: dict[tuple[str, str], Floats]


@dataclass(frozen=True)
class AgeGroups:
    age_from: npt.NDArray[np.int64]
    age_to: npt.NDArray[np.int64]
    p: Floats


@cache
def counties() -> Counties:
    rows = _tsv("anhui_counties.tsv")
    codes = tuple(r["code"] for r in rows)
    known = set(codes)
    unknown: list[str] = []
    # An injective real -> unknown map keeps resident ID numbers unique after the defect is injected.
    per_city: dict[str, int] = {}
    for code in codes:
        slot = per_city.get(code[:4], 0)
        per_city[code[:4]] = slot + 1
        fake = f"{code[:4]}{60 + slot:02d}"
        assert fake not in known
        unknown.append(fake)
    return Counties(
        codes=codes,
        names=tuple(r["name"] for r in rows),
        cities=tuple(r["city"] for r in rows),
        p=_probabilities([float(r["county_weight"]) for r in rows]),
        is_district=np.array([1 <= int(c[4:]) <= 20 for c in codes]),
        unknown_codes=tuple(unknown),
    )


@cache
def surnames() -> Weighted:
    rows = _tsv("surnames.tsv")
    return Weighted(
        tuple(r["surname"] for r in rows), _probabilities([float(r["holders_10k"]) for r in rows])
    )


@cache
def ethnic_groups(profile: str) -> Weighted:
    """``profile`` is "national" (7th census, China) or "anhui" (rough Anhui estimate)."""
    column = {"national": "national_2020", "anhui": "anhui_2020"}[profile]
    rows = _tsv("ethnic_groups.tsv")
    return Weighted(tuple(r["name"] for r in rows), _probabilities([float(r[column]) for r in rows]))


@cache
def given_names() -> GivenNames:
    rows = _tsv("given_name_chars.tsv")
    chars = tuple(dict.fromkeys(r["char"] for r in rows))
    index = {ch: i for i, ch in enumerate(chars)}
    p: dict[tuple[str, str], Floats] = {}
    for sex in ("m", "f"):
        for era in ("old", "new"):
            weights = np.zeros(len(chars))
            for r in rows:
                if r["sex"] in (sex, "u") and r["era"] in (era, "all"):
                    weights[index[r["char"]]] += float(r["weight"])
            p[sex, era] = weights / weights.sum()
    return GivenNames(chars, p)


@cache
def age_groups() -> AgeGroups:
    rows = _tsv("age_pyramid.tsv")
    return AgeGroups(
        np.array([int(r["age_from"]) for r in rows]),
        np.array([int(r["age_to"]) for r in rows]),
        _probabilities([float(r["percent"]) for r in rows]),
    )


@cache
def words() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(_text("words.yaml"))
    return loaded


@cache
def kangxi_radicals() -> dict[str, str]:
    """Ordinary ideograph -> the Kangxi radical that looks the same."""
    mapping: dict[str, str] = {}
    for code_point in range(_KANGXI_FIRST, _KANGXI_LAST + 1):
        radical = chr(code_point)
        mapping.setdefault(unicodedata.normalize("NFKC", radical), radical)
    return mapping
