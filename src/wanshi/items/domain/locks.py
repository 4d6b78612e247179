"""同一事项无差别受理、同标准办理: what an implementation list may change of the province's basic entry.

Every element is locked unless the basic entry (or the defaults below) says how a local list may adjust
it. The defaults let a locality serve better, never differently: shorter promised limits, fewer visits,
deeper online service, fewer materials, and its own places, contacts and questions. A basic entry may
loosen or tighten any element for its item (``adjust`` in the basic document).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wanshi.items.domain.elements import ELEMENT_LABELS, Elements, Limit
from wanshi.kernel.errors import ValidationFailed


class Adjust(StrEnum):
    LOCKED = "locked"  # as the province set it
    FREE = "free"  # the locality's own
    AT_MOST = "at_most"  # a limit or a count no greater than the province's
    AT_LEAST = "at_least"  # a depth, a switch or a set of forms no less than the province's
    SUBSET = "subset"  # entries of the province's list only (some may be dropped)


ADJUST_LABELS = {
    Adjust.LOCKED: "锁定（与省级一致）",
    Adjust.FREE: "可自行填写",
    Adjust.AT_MOST: "只可缩短或减少",
    Adjust.AT_LEAST: "只可提升或增加",
    Adjust.SUBSET: "只可精简",
}

DEFAULT_ADJUST: Mapping[str, Adjust] = {
    "summary": Adjust.FREE,
    "promised_limit": Adjust.AT_MOST,
    "process": Adjust.FREE,
    "forms": Adjust.AT_LEAST,
    "visits": Adjust.AT_MOST,
    "visits_reason": Adjust.FREE,
    "online": Adjust.AT_LEAST,
    "online_depth": Adjust.AT_LEAST,
    "online_url": Adjust.FREE,
    "booking": Adjust.AT_LEAST,
    "delivery": Adjust.AT_LEAST,
    "online_payment": Adjust.AT_LEAST,
    "entrusted_by": Adjust.FREE,
    "joint_bodies": Adjust.FREE,
    "places": Adjust.FREE,
    "consult": Adjust.FREE,
    "complaint": Adjust.FREE,
    "faq": Adjust.FREE,
    "materials": Adjust.SUBSET,
    "themes": Adjust.FREE,
    "keywords": Adjust.FREE,
}


def adjust_rules(overrides: Mapping[str, Adjust]) -> dict[str, Adjust]:
    """Every element's rule: the defaults, then the basic entry's own."""
    unknown = sorted(set(overrides) - set(ELEMENT_LABELS))
    if unknown:
        raise ValidationFailed(
            "可调整要素中有不存在的要素：" + "、".join(unknown), code="item_adjust_invalid"
        )
    return {key: overrides.get(key, DEFAULT_ADJUST.get(key, Adjust.LOCKED)) for key in ELEMENT_LABELS}


@dataclass(frozen=True)
class Breach:
    element: str
    rule: Adjust

    @property
    def message(self) -> str:
        label = ELEMENT_LABELS[self.element]
        if self.rule is Adjust.LOCKED:
            return f"“{label}”由省级基本目录统一规定，实施清单不得修改"
        if self.rule is Adjust.AT_MOST:
            return f"“{label}”不得超过省级基本目录的规定"
        if self.rule is Adjust.AT_LEAST:
            return f"“{label}”不得低于省级基本目录的规定"
        return f"“{label}”只能从省级基本目录的清单中精简，不得新增或改动"


class LockedElementChanged(ValidationFailed):
    code = "item_locked_element"
    default_message = "实施清单修改了省级基本目录锁定的要素"


def breaches(province: Elements, local: Elements, rules: Mapping[str, Adjust]) -> list[Breach]:
    out = []
    for key, rule in rules.items():
        if rule is Adjust.FREE:
            continue
        if not _allowed(rule, getattr(province, key), getattr(local, key)):
            out.append(Breach(key, rule))
    return out


def check_local(province: Elements, local: Elements, rules: Mapping[str, Adjust]) -> None:
    """Refuse an implementation entry that changes what the province does not let it change."""
    found = breaches(province, local, rules)
    if found:
        raise LockedElementChanged(
            "；".join(b.message for b in found),
            elements=[b.element for b in found],
        )


def _allowed(rule: Adjust, province: Any, local: Any) -> bool:
    if rule is Adjust.LOCKED or province == local:
        return bool(province == local)
    if rule is Adjust.AT_MOST:
        if isinstance(province, Limit):
            return isinstance(local, Limit) and not local.longer_than(province)
        return bool(local <= province)
    if rule is Adjust.AT_LEAST:
        if isinstance(province, tuple):
            return set(province) <= set(local)
        return bool(local >= province)
    if isinstance(province, tuple):  # SUBSET
        return all(entry in province for entry in local)
    return False


def derive(province: Elements, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The province's elements with a locality's changes laid over them (认领 with local particulars),
    as a mapping ready for ``parse_elements``."""
    unknown = sorted(set(changes) - set(ELEMENT_LABELS))
    if unknown:
        raise ValidationFailed("不是可识别的事项要素：" + "、".join(unknown), code="item_elements_invalid")
    return {**province.model_dump(mode="json"), **changes}
