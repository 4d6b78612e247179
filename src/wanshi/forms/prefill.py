"""免填报: the values a form may be prefilled with, for the person filling it in.

Sources are named in the definition (``account.name``, ``population.address``, ``legal_person.name``) and
resolved here, for the signed-in person only: a citizen's own account and their own record in the
population registry, and the record of the enterprise they act for in the legal-person registry. Each
registry read is logged by the registry with its purpose, like every other use of base data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from wanshi.datahub.registry import api as registry
from wanshi.forms.domain.schema import FormDocument
from wanshi.identity import api as identity
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor, ActorKind
from wanshi.kernel.errors import PermissionDenied, WanshiError

log = logging.getLogger(__name__)

PURPOSE = "表单预填（免填报）"
VALID_STATUSES = frozenset({"有效", "valid", ""})
ACCOUNT_FIELDS = ("name", "id_number", "phone", "credit_code", "enterprise_name")
SOURCES = frozenset(
    [f"account.{f}" for f in ACCOUNT_FIELDS]
    + [f"population.{f}" for f in registry.PERSON_FIELDS]
    + [f"legal_person.{f}" for f in registry.ENTERPRISE_FIELDS]
)
# 电子证照: ``licence.<type code>.<field>`` fills a field from the holder's own valid e-licence of that type.
LICENCE_FIELDS = ("licence_id", "number", "licence_name", "issuer", "issued_date", "valid_until")
LICENCE_SOURCE = re.compile(rf"^licence\.([A-Za-z0-9_-]{{1,40}})\.({'|'.join(LICENCE_FIELDS)})$")
SOURCE_LABELS = {
    "account": "本人账号",
    "population": "人口库",
    "legal_person": "法人库",
    "licence": "电子证照",
}
FIELD_LABELS = {
    "name": "姓名/名称",
    "id_number": "身份证号码",
    "phone": "电话",
    "credit_code": "统一社会信用代码",
    "enterprise_name": "所办企业名称",
    "sex": "性别",
    "birth_date": "出生日期",
    "ethnicity": "民族",
    "household_division": "户籍地区划",
    "address": "住址",
    "status": "状态",
    "entity_type": "市场主体类型",
    "legal_rep_name": "法定代表人",
    "registered_capital": "注册资本",
    "established_date": "成立日期",
    "division": "所在区划",
    "industry": "行业",
    "business_scope": "经营范围",
    "licence_id": "证照标识",
    "number": "证照编号",
    "licence_name": "证照名称",
    "issuer": "发证机关",
    "issued_date": "发证日期",
    "valid_until": "有效期至",
}


def source_label(source: str) -> str:
    licence = LICENCE_SOURCE.fullmatch(source)
    if licence:
        return f"电子证照（{licence.group(1)}）：{FIELD_LABELS[licence.group(2)]}"
    head, _, field = source.partition(".")
    return f"{SOURCE_LABELS.get(head, head)}：{FIELD_LABELS.get(field, field)}"


def known_source(source: str) -> bool:
    return source in SOURCES or LICENCE_SOURCE.fullmatch(source) is not None


def unknown_sources(document: FormDocument) -> list[str]:
    return sorted({f.prefill for f in document.walk() if f.prefill and not known_source(f.prefill)})


def _by_source(document: FormDocument) -> dict[str, list[str]]:
    """Source → the keys of the fields it fills."""
    out: dict[str, list[str]] = {}
    for field in document.walk():
        if field.prefill:
            out.setdefault(field.prefill, []).append(field.key)
    return out


def resolve_prefill(
    uow: UnitOfWork,
    document: FormDocument,
    actor: Actor,
    *,
    people: identity.IdentityService,
    registries: registry.Registry,
) -> dict[str, str]:
    """Field key → prefilled value, for what can be found; a form without prefill asks nothing."""
    wanted = _by_source(document)
    if not wanted or actor.user_id is None or actor.kind not in (ActorKind.CITIZEN, ActorKind.ENTERPRISE):
        return {}
    found: dict[str, str] = {}
    account = _account(uow, actor, people)
    found.update({f"account.{k}": v for k, v in account.items()})
    population = tuple(s.removeprefix("population.") for s in wanted if s.startswith("population."))
    own_id = account.get("id_number")
    if population and own_id:
        person = registry.PersonPrefill(id_number=own_id, fields=population, purpose=PURPOSE)
        found.update(
            _registry_values(
                "population.",
                lambda: registry.person_prefill(uow, registries, person, actor, own_id_number=own_id),
            )
        )
    enterprise = tuple(s.removeprefix("legal_person.") for s in wanted if s.startswith("legal_person."))
    credit_code = account.get("credit_code")
    if enterprise and credit_code:
        body = registry.EnterprisePrefill(credit_code=credit_code, fields=enterprise, purpose=PURPOSE)
        found.update(
            _registry_values(
                "legal_person.", lambda: registry.enterprise_prefill(uow, registries, body, actor)
            )
        )
    licences = {m.group(1) for s in wanted if (m := LICENCE_SOURCE.fullmatch(s))}
    holder = account.get("credit_code") or account.get("id_number")
    if licences and holder:

        def read_licences() -> registry.Licences:
            query = registry.LicenceQuery(holder_code=holder, purpose=PURPOSE)
            return registry.find_licences(uow, registries, query, actor, own_holder_code=holder)

        found.update(_licence_values(read_licences, licences))
    return {key: found[source] for source, keys in wanted.items() if found.get(source) for key in keys}


def _account(uow: UnitOfWork, actor: Actor, people: identity.IdentityService) -> dict[str, str]:
    if actor.user_id is None:
        return {}
    claims = people.accounts.subject_claims(uow, actor.user_id)
    out = {"name": actor.display_name, "id_number": claims.id_number or "", "phone": claims.phone or ""}
    if actor.legal_person_id is not None:
        try:
            legal_person = people.enterprises.get_legal_person(uow, actor.legal_person_id, actor)
        except PermissionDenied:
            legal_person = None
        if legal_person is not None:
            out.update(credit_code=legal_person.credit_code, enterprise_name=legal_person.name)
    return {k: v for k, v in out.items() if v}


def _licence_values(read: Callable[[], registry.Licences], types: set[str]) -> dict[str, str]:
    """``licence.<type>.<field>`` of the holder's valid licence of each type asked for."""
    try:
        held = read().licences
    except WanshiError as exc:
        log.warning("prefill from e-licences unavailable: %s", exc.error_code)
        return {}
    out: dict[str, str] = {}
    for entry in held:
        if entry.licence_type not in types or entry.status not in VALID_STATUSES:
            continue
        for field in LICENCE_FIELDS:
            value = getattr(entry, field, "")
            if value:
                out.setdefault(f"licence.{entry.licence_type}.{field}", str(value))
    return out


def _registry_values(prefix: str, read: Callable[[], registry.Prefill]) -> dict[str, str]:
    """A registry's answer as sources; a registry that cannot answer leaves the fields for the person to fill
    in (the registry logged the failed call), and the form is still usable."""
    try:
        answer = read()
    except WanshiError as exc:
        log.warning("prefill from %s unavailable: %s", prefix.rstrip("."), exc.error_code)
        return {}
    return {f"{prefix}{k}": str(v) for k, v in answer.values.items() if v not in (None, "")}
