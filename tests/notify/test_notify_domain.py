"""Pure rules of the notify context: masking, validation, SMS length, templates. No database."""

from __future__ import annotations

import pytest

from wanshi.kernel.errors import ValidationFailed
from wanshi.notify.domain import (
    SMS_BODY_MAX_CHARS,
    SMS_MAX_CHARS,
    Channel,
    Notification,
    RenderedMessage,
    SmsTooLong,
    mask_address,
    mask_email,
    mask_personal_data,
    mask_phone,
    sms_text,
    validate_notification,
    validate_rendered,
    validate_sms_sign,
)
from wanshi.notify.templates import MessageTemplate, TemplateParamsInvalid, TemplateRegistry, registry

ALL = frozenset({Channel.INBOX, Channel.SMS, Channel.EMAIL})


def test_masking_helpers() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("123") == "****"
    assert mask_email("zhangsan@example.com") == "z***@example.com"
    assert mask_email("not-an-address") == "***"
    assert mask_address(Channel.SMS, "13812341234") == "138****1234"
    assert mask_address(Channel.EMAIL, "li@gov.cn") == "l***@gov.cn"
    # Masking twice changes nothing: stored masked addresses can be masked again on display.
    assert mask_phone(mask_phone("13812341234")) == "138****1234"
    assert mask_email(mask_email("zhangsan@example.com")) == "z***@example.com"


def test_mask_personal_data_in_free_text() -> None:
    text = "rejected +8613812341234 and 13999998888, mail zhang.san@example.com: quota"
    masked = mask_personal_data(text)
    assert masked == "rejected +86138****1234 and 139****8888, mail z***@example.com: quota"
    assert mask_personal_data("order 2024 ok") == "order 2024 ok"


def _notice(**overrides: object) -> Notification:
    values: dict[str, object] = {
        "channels": ALL,
        "recipient_user_id": 7,
        "phone": "13812341234",
        "email": "zhang@example.com",
        "title": "标题",
        "body": "正文",
    }
    values.update(overrides)
    return Notification(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channels": frozenset()}, "channels"),
        ({"recipient_user_id": None}, "recipient_user_id"),
        ({"phone": None}, "phone"),
        ({"phone": "1381234123"}, "phone"),
        ({"email": "nobody"}, "email"),
        ({"title": None}, "template"),
        ({"template": "generic", "params": {"title": "a", "body": "b"}}, "template"),
        ({"params": {"x": "y"}}, "params"),
        ({"category": "Bad Category"}, "category"),
        ({"link": "https://evil.example.com/"}, "link"),
        ({"link": "//evil.example.com/"}, "link"),
    ],
)
def test_notification_validation_names_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_notification(_notice(**overrides))
    assert info.value.details["field"] == field


def test_a_valid_notification_passes() -> None:
    validate_notification(_notice(link="/cases/1", category="case.accepted"))
    validate_notification(
        Notification(channels=frozenset({Channel.SMS}), phone="13812341234", title="t", body="b")
    )


def test_sms_length_rule() -> None:
    assert sms_text("【皖事通办】", "您好") == "【皖事通办】您好"
    body = "字" * (SMS_MAX_CHARS - len("【皖事通办】"))
    assert len(sms_text("【皖事通办】", body)) == SMS_MAX_CHARS
    with pytest.raises(SmsTooLong) as info:
        sms_text("【皖事通办】", body + "多")
    assert info.value.code == "sms_too_long"
    assert "501" in info.value.message
    assert "500" in info.value.message


def test_sms_body_is_checked_when_queued_leaving_room_for_any_sign() -> None:
    notice = _notice(channels=frozenset({Channel.SMS}))
    validate_rendered(notice, RenderedMessage("t", "字" * SMS_BODY_MAX_CHARS))
    with pytest.raises(SmsTooLong):
        validate_rendered(notice, RenderedMessage("t", "字" * (SMS_BODY_MAX_CHARS + 1)))
    # The inbox alone takes longer bodies.
    validate_rendered(_notice(channels=frozenset({Channel.INBOX})), RenderedMessage("t", "字" * 1000))
    # The longest valid sign with the longest body still fits the carrier's cap.
    assert len(sms_text("【" + "签" * 12 + "】", "字" * SMS_BODY_MAX_CHARS)) == SMS_MAX_CHARS


@pytest.mark.parametrize("sign", ["皖事通办", "【皖】", "【" + "签" * 13 + "】", "【a【b】"])
def test_sms_sign_must_be_a_bracketed_2_to_12_characters(sign: str) -> None:
    with pytest.raises(ValueError, match="SMS sign"):
        validate_sms_sign(sign)


def test_template_renders_both_languages() -> None:
    params = {"ticket_no": "GD-001", "summary": "路灯不亮", "due_date": "2026-03-01"}
    zh = registry.get("ticket.assigned").render(params)
    assert zh.title == "新工单：GD-001"
    assert "路灯不亮" in zh.body
    assert "2026-03-01" in zh.body
    en = registry.get("ticket.assigned").render(params, "en")
    assert en.title == "New ticket GD-001"


def test_template_param_errors_are_clear() -> None:
    template = registry.get("ticket.due_soon")
    with pytest.raises(TemplateParamsInvalid) as info:
        template.render({"ticket_no": "GD-1", "summry": "x"})
    error = info.value
    assert error.details["missing"] == ["due_date", "summary"]
    assert error.details["unknown"] == ["summry"]
    assert "ticket.due_soon" in error.message
    assert "due_date" in error.message
    assert "summry" in error.message


def test_param_values_are_not_format_strings() -> None:
    rendered = registry.get("generic").render({"title": "{body}", "body": "{0.__class__}"})
    assert rendered == RenderedMessage("{body}", "{0.__class__}")


@pytest.mark.parametrize("text", ["{a.b}", "{a[0]}", "{a!r}", "{a:>5}", "{}", "{0}"])
def test_templates_allow_plain_placeholders_only(text: str) -> None:
    with pytest.raises(ValueError, match="plain name"):
        MessageTemplate("t", text, "b", text, "b")


def test_template_languages_must_use_the_same_params() -> None:
    with pytest.raises(ValueError, match="different params"):
        MessageTemplate("t", "{a}", "b", "a", "b")


def test_registry_rejects_unknown_keys_and_conflicting_registration() -> None:
    reg = TemplateRegistry()
    template = MessageTemplate("case.accepted", "受理：{no}", "已受理", "Accepted {no}", "Accepted")
    reg.register(template)
    reg.register(MessageTemplate("case.accepted", "受理：{no}", "已受理", "Accepted {no}", "Accepted"))
    assert reg.keys() == ["case.accepted"]
    with pytest.raises(ValueError, match="already registered"):
        reg.register(MessageTemplate("case.accepted", "其他", "b", "other", "b"))
    with pytest.raises(ValidationFailed) as info:
        reg.get("nope")
    assert info.value.details["field"] == "template"
