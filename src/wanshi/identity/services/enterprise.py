"""Legal-person accounts (法人账号) and enterprise delegation (经办人授权).

A real-name verified citizen opens the account of a legal person whose legal representative the
legal-person registry says they are; a legal person without a registry match gets no account, because
the registry is the only evidence of who may speak for it. The legal representative authorises agents,
identified by ID number and name of their own real-name accounts, for chosen scopes and a period, and
revokes them at any time. A person then switches their login session to a legal person they hold
something for; every request looks the delegation up again (services/sessions.py), so a revocation or
an expiry takes effect on the next request.

Audit actions: ``identity.legal_person.register``, ``identity.delegation.grant``,
``identity.delegation.revoke``, ``identity.enterprise.act_for``, ``identity.enterprise.act_as_self``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from wanshi.identity.domain.enterprise import (
    LEGAL_REP_SCOPES,
    ActingFor,
    ActingRole,
    Delegation,
    LegalPerson,
    may_claim,
    parse_scopes,
    period_bounds,
    period_problem,
    scopes_text,
)
from wanshi.identity.policies import enterprise as policies
from wanshi.identity.repository import enterprise as repo
from wanshi.identity.repository import get_user_row
from wanshi.identity.repository import login as login_repo
from wanshi.identity.services.accounts import Accounts
from wanshi.identity.services.login import ID_CONTEXT
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, ActorKind, Assurance
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed
from wanshi.kernel.identifiers import (
    InvalidCreditCode,
    InvalidResidentId,
    validate_credit_code,
    validate_resident_id,
)
from wanshi.notify import api as notify

MY_ENTERPRISES = "/account/enterprises"


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class ClaimLegalPerson(Command):
    credit_code: str = Field(max_length=30)
    name: str = Field(min_length=2, max_length=100)


class GrantDelegation(Command):
    legal_person_id: int
    agent_id_number: str = Field(max_length=20)
    agent_name: str = Field(min_length=2, max_length=30)
    scopes: tuple[str, ...] = Field(max_length=10)
    valid_from: date | None = None  # today when not given
    valid_until: date  # the last day, inclusive (China time)


class RevokeDelegation(Command):
    legal_person_id: int
    delegation_id: int


class Enterprises:
    """Built from the accounts use cases, whose sealer and real-name registry it shares."""

    def __init__(self, accounts: Accounts, *, max_days: int) -> None:
        self.accounts = accounts
        self.max_days = max_days

    # --- the legal person ---------------------------------------------------------------------------------
    def claim_legal_person(self, uow: UnitOfWork, cmd: ClaimLegalPerson, actor: Actor) -> LegalPerson:
        uow.authorize(
            policies.can_claim_legal_person(actor),
            actor,
            "identity.legal_person.register",
            object_type="legal_person",
        )
        row = _own_row(uow, actor)
        assurance = Assurance(row.assurance) if row.assurance else None
        if not may_claim(assurance):
            raise ValidationFailed(
                "开通法人账号须先通过个人实名核验，请在账户页完成实名核验", code="real_name_required"
            )
        code = _credit_code(cmd.credit_code)
        if repo.legal_person_by_code(uow.session, code) is not None:
            raise Conflict(_TAKEN, field="credit_code", code="legal_person_taken")
        registry = self.accounts.registry
        if registry is None:
            raise ValidationFailed(
                "法人库核验服务未接入，暂不能开通法人账号", code="enterprise_registry_unavailable"
            )
        # The registry logs its call in this unit of work and commits it: nothing of ours is pending yet.
        answer = registry.verify_enterprise(uow, code, cmd.name, legal_representative=row.display_name)
        if answer.verdict == "mismatch":
            field = "name" if answer.code == "name_mismatch" else "credit_code"
            raise ValidationFailed(answer.message, field=field, code=f"enterprise_{answer.code}")
        if answer.verdict != "match":
            raise ValidationFailed(
                f"{answer.message}：法人账号须经法人库核验一致后才能开通，请核对统一社会信用代码，"
                "或待法人库更新后再试",
                field="credit_code",
                code="enterprise_unverified",
            )
        now = clock.now()
        try:
            legal_person_id = repo.add_legal_person(
                uow.session,
                {
                    "credit_code": code,
                    "name": cmd.name,
                    "legal_rep_user_id": int(row.id),
                    "assurance": Assurance.REAL_NAME.value,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        except IntegrityError as exc:
            uow.rollback()
            raise Conflict(_TAKEN, field="credit_code", code="legal_person_taken") from exc
        uow.audit(
            actor,
            "identity.legal_person.register",
            object_type="legal_person",
            object_id=legal_person_id,
            detail={"credit_code": code, "registry": answer.code},
        )
        uow.commit()
        return _legal_person_or_404(uow, legal_person_id)

    def get_legal_person(self, uow: UnitOfWork, legal_person_id: int, actor: Actor) -> LegalPerson:
        legal_person = _legal_person_or_404(uow, legal_person_id)
        holds = actor.user_id is not None and _acting(uow, actor.user_id, legal_person_id) is not None
        uow.authorize(
            policies.can_view_legal_person(actor, legal_person, holds),
            actor,
            "identity.legal_person.view",
            object_type="legal_person",
            object_id=legal_person_id,
        )
        return legal_person

    def my_enterprises(self, uow: UnitOfWork, actor: Actor) -> list[ActingFor]:
        """The legal persons this person may act for now, as legal representative or as agent."""
        uow.authorize(policies.can_list_my_enterprises(actor), actor, "identity.enterprise.list")
        assert actor.user_id is not None  # the policy admits only signed-in people
        found = [
            ActingFor(lp, ActingRole.LEGAL_REP, LEGAL_REP_SCOPES, None, None)
            for lp in repo.represented_by(uow.session, actor.user_id)
        ]
        found += [
            ActingFor(lp, ActingRole.AGENT, d.scopes, d.id, d.valid_until)
            for d, lp in repo.live_delegations_of_agent(uow.session, actor.user_id, clock.now())
        ]
        return sorted(found, key=lambda a: (a.role != ActingRole.LEGAL_REP, a.legal_person.name))

    # --- agents -------------------------------------------------------------------------------------------
    def list_delegations(self, uow: UnitOfWork, legal_person_id: int, actor: Actor) -> list[Delegation]:
        legal_person = _legal_person_or_404(uow, legal_person_id)
        uow.authorize(
            policies.can_list_delegations(actor, legal_person),
            actor,
            "identity.delegation.list",
            object_type="legal_person",
            object_id=legal_person_id,
        )
        return repo.delegations_of(uow.session, legal_person_id)

    def grant_delegation(self, uow: UnitOfWork, cmd: GrantDelegation, actor: Actor) -> Delegation:
        legal_person = _legal_person_or_404(uow, cmd.legal_person_id)
        uow.authorize(
            policies.can_grant_delegation(actor, legal_person),
            actor,
            "identity.delegation.grant",
            object_type="legal_person",
            object_id=legal_person.id,
        )
        scopes, refused = parse_scopes(cmd.scopes)
        if refused:
            raise ValidationFailed(
                f"以下权限不能授权给经办人：{'、'.join(refused)}", field="scopes", code="scope_not_delegable"
            )
        if not scopes:
            raise ValidationFailed("请至少选择一项授权事项", field="scopes", code="scopes_required")
        today = clock.today_in_china()
        valid_from = cmd.valid_from or today
        problem = period_problem(valid_from, cmd.valid_until, today, self.max_days)
        if problem is not None:
            raise ValidationFailed(problem, field="valid_until", code="delegation_period_invalid")
        agent = self._agent_row(uow, cmd.agent_id_number, cmd.agent_name)
        if int(agent.id) == legal_person.legal_rep_user_id:
            raise ValidationFailed(
                "法定代表人本人无需授权", field="agent_id_number", code="agent_is_legal_rep"
            )
        agent_assurance = Assurance(agent.assurance) if agent.assurance else None
        if not may_claim(agent_assurance):
            raise ValidationFailed(
                "该经办人尚未通过个人实名核验，请其先在账户页完成实名核验",
                field="agent_id_number",
                code="agent_not_real_name",
            )
        now = clock.now()
        if repo.open_delegations(uow.session, legal_person.id, int(agent.id), now):
            raise Conflict(
                "该经办人已有有效或未生效的授权，如需调整请先撤销",
                field="agent_id_number",
                code="delegation_exists",
            )
        start, end = period_bounds(valid_from, cmd.valid_until, now)
        delegation_id = repo.add_delegation(
            uow.session,
            {
                "legal_person_id": legal_person.id,
                "agent_user_id": int(agent.id),
                "scopes": " ".join(sorted(scopes)),
                "valid_from": start,
                "valid_until": end,
                "granted_by_user_id": actor.user_id,
                "created_at": now,
            },
        )
        uow.audit(
            actor,
            "identity.delegation.grant",
            object_type="legal_person",
            object_id=legal_person.id,
            detail={
                "delegation_id": delegation_id,
                "agent_user_id": int(agent.id),
                "scopes": sorted(scopes),
                "valid_from": valid_from.isoformat(),
                "valid_until": cmd.valid_until.isoformat(),
            },
        )
        _tell_agent(
            uow,
            int(agent.id),
            "企业授权通知",
            f"{legal_person.name}（统一社会信用代码 {legal_person.credit_code}）的法定代表人授权您作为经办人"
            f"办理：{scopes_text(scopes)}；有效期 {valid_from:%Y-%m-%d} 至 {cmd.valid_until:%Y-%m-%d}。"
            "您可在账户的“企业身份”中切换为该企业办事。",
        )
        uow.commit()
        return _delegation_or_404(uow, delegation_id)

    def revoke_delegation(self, uow: UnitOfWork, cmd: RevokeDelegation, actor: Actor) -> Delegation:
        found = repo.get_delegation(uow.session, cmd.delegation_id)
        if found is None or found.legal_person_id != cmd.legal_person_id:
            raise NotFound("授权不存在")
        legal_person = _legal_person_or_404(uow, found.legal_person_id)
        uow.authorize(
            policies.can_revoke_delegation(actor, legal_person),
            actor,
            "identity.delegation.revoke",
            object_type="legal_person",
            object_id=legal_person.id,
        )
        if repo.revoke_delegation(uow.session, found.id, clock.now(), actor.user_id):
            uow.audit(
                actor,
                "identity.delegation.revoke",
                object_type="legal_person",
                object_id=legal_person.id,
                detail={"delegation_id": found.id, "agent_user_id": found.agent_user_id},
            )
            _tell_agent(
                uow,
                found.agent_user_id,
                "企业授权已撤销",
                f"{legal_person.name}（统一社会信用代码 {legal_person.credit_code}）的法定代表人已撤销对您的"
                "经办人授权，您不能再以该企业身份办事。",
            )
        uow.commit()
        return _delegation_or_404(uow, found.id)

    # --- acting for a legal person --------------------------------------------------------------------------
    def act_for(self, uow: UnitOfWork, legal_person_id: int, actor: Actor) -> ActingFor:
        """Switch the actor's login session to the legal person (切换企业身份)."""
        acting = _acting(uow, actor.user_id, legal_person_id) if actor.user_id is not None else None
        uow.authorize(
            policies.can_act_for(actor, acting is not None),
            actor,
            "identity.enterprise.act_for",
            object_type="legal_person",
            object_id=legal_person_id,
        )
        # The policy admits nothing else.
        assert acting is not None
        assert actor.session_id is not None
        login_repo.update_session(uow.session, actor.session_id, {"legal_person_id": legal_person_id})
        uow.audit(
            actor,
            "identity.enterprise.act_for",
            object_type="legal_person",
            object_id=legal_person_id,
            detail={"role": acting.role.value, "scopes": sorted(acting.scopes)},
        )
        uow.commit()
        return acting

    def act_as_self(self, uow: UnitOfWork, actor: Actor) -> None:
        """Switch the session back to the natural person."""
        uow.authorize(policies.can_act_as_self(actor), actor, "identity.enterprise.act_as_self")
        assert actor.session_id is not None  # the policy admits only live sessions
        row = login_repo.get_session(uow.session, actor.session_id)
        if row is not None and row.legal_person_id is not None:
            login_repo.update_session(uow.session, actor.session_id, {"legal_person_id": None})
            uow.audit(
                actor,
                "identity.enterprise.act_as_self",
                object_type="legal_person",
                object_id=row.legal_person_id,
            )
        uow.commit()

    # --- helpers ------------------------------------------------------------------------------------------
    def _agent_row(self, uow: UnitOfWork, raw_id_number: str, name: str) -> Any:
        """The agent's own account, by the keyed digest of the ID number, as login finds people; one answer
        for an unknown number and a wrong name, so the form does not tell who has an account."""
        try:
            id_number = validate_resident_id(raw_id_number.strip().upper()).value
        except InvalidResidentId as exc:
            raise ValidationFailed(
                f"经办人身份证号码无效：{exc}", field="agent_id_number", code="invalid_id_number"
            ) from exc
        digest = self.accounts.sealer.digest(id_number, context=ID_CONTEXT)
        row = login_repo.user_row_by(uow.session, "id_number_digest", digest)
        if (
            row is None
            or not row.active
            or row.kind != ActorKind.CITIZEN.value
            or row.display_name != name.strip()
        ):
            raise NotFound(
                "未找到身份证号与姓名一致的个人账号，请确认经办人已注册并核对信息",
                field="agent_id_number",
                code="agent_not_found",
            )
        return row


_TAKEN = "该统一社会信用代码已开通法人账号；如需变更法定代表人，请到窗口办理"


def legal_person_claims(uow: UnitOfWork, legal_person_id: int) -> tuple[str, str]:
    """For the OIDC provider's ``enterprise`` scope: the legal person's credit code and name."""
    legal_person = _legal_person_or_404(uow, legal_person_id)
    return legal_person.credit_code, legal_person.name


def _acting(uow: UnitOfWork, user_id: int, legal_person_id: int) -> ActingFor | None:
    legal_person = repo.get_legal_person(uow.session, legal_person_id)
    if legal_person is None:
        return None
    if legal_person.legal_rep_user_id == user_id:
        return ActingFor(legal_person, ActingRole.LEGAL_REP, LEGAL_REP_SCOPES, None, None)
    live = repo.live_delegations_of_agent(uow.session, user_id, clock.now(), legal_person_id)
    if not live:
        return None
    delegation, _ = live[-1]
    return ActingFor(legal_person, ActingRole.AGENT, delegation.scopes, delegation.id, delegation.valid_until)


def _own_row(uow: UnitOfWork, actor: Actor) -> Any:
    row = get_user_row(uow.session, user_id=actor.user_id) if actor.user_id is not None else None
    if row is None:
        raise NotFound("账号不存在")
    return row


def _credit_code(raw: str) -> str:
    try:
        return validate_credit_code(raw.strip().upper()).value
    except InvalidCreditCode as exc:
        raise ValidationFailed(exc.message, field="credit_code", code="invalid_credit_code") from exc


def _legal_person_or_404(uow: UnitOfWork, legal_person_id: int) -> LegalPerson:
    found = repo.get_legal_person(uow.session, legal_person_id)
    if found is None:
        raise NotFound("法人账号不存在")
    return found


def _delegation_or_404(uow: UnitOfWork, delegation_id: int) -> Delegation:
    found = repo.get_delegation(uow.session, delegation_id)
    if found is None:
        raise NotFound("授权不存在")
    return found


def _tell_agent(uow: UnitOfWork, user_id: int, title: str, body: str) -> None:
    notify.queue_notification(
        uow,
        notify.Notification(
            channels=frozenset({notify.Channel.INBOX}),
            recipient_user_id=user_id,
            title=title,
            body=body,
            category="security",
            link=MY_ENTERPRISES,
        ),
    )
