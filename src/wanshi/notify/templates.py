"""Message templates: a key names a Chinese and an English title and body with ``{param}`` placeholders.

Placeholders are plain names only (no ``{a.b}``, ``{a[0]}``, ``{a!r}``, ``{a:>5}``): attribute and index
lookups in a format string can reach into Python objects, and a template is configuration, not code.
Rendering is strict both ways: a missing param and an unknown param are each an error, so a typo in a
caller shows up in its first test instead of as a notice with a hole in it.

Notify's own generic templates are built in; other contexts add theirs with ``register`` when the
platform is built. The registry is process-wide because notices are queued from every context.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wanshi.kernel.errors import ValidationFailed
from wanshi.notify.domain import Locale, RenderedMessage


class TemplateParamsInvalid(ValidationFailed):
    code = "notify_template_params_invalid"
    default_message = "消息模板参数不正确"


def placeholders(text: str) -> frozenset[str]:
    names = set()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} in {text!r} must be a plain name")
        names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class MessageTemplate:
    key: str
    title_zh: str
    body_zh: str
    title_en: str
    body_en: str

    def __post_init__(self) -> None:
        zh = placeholders(self.title_zh) | placeholders(self.body_zh)
        en = placeholders(self.title_en) | placeholders(self.body_en)
        if zh != en:
            raise ValueError(f"template {self.key!r}: Chinese and English use different params {zh ^ en}")

    @property
    def params(self) -> frozenset[str]:
        return placeholders(self.title_zh) | placeholders(self.body_zh)

    def render(self, params: Mapping[str, str], locale: Locale = "zh_CN") -> RenderedMessage:
        missing = sorted(self.params - params.keys())
        unknown = sorted(params.keys() - self.params)
        if missing or unknown:
            problems = []
            if missing:
                problems.append("缺少参数 " + "、".join(missing))
            if unknown:
                problems.append("多余参数 " + "、".join(unknown))
            raise TemplateParamsInvalid(
                f"消息模板 {self.key} 的参数不正确：{'；'.join(problems)}",
                template=self.key,
                missing=missing,
                unknown=unknown,
            )
        title, body = (self.title_zh, self.body_zh) if locale == "zh_CN" else (self.title_en, self.body_en)
        return RenderedMessage(title=title.format_map(params), body=body.format_map(params))


class TemplateRegistry:
    def __init__(self, templates: Iterable[MessageTemplate] = ()) -> None:
        self._templates: dict[str, MessageTemplate] = {}
        for template in templates:
            self.register(template)

    def register(self, template: MessageTemplate) -> None:
        """Registering the same template again is a no-op: the platform may be built more than once."""
        existing = self._templates.get(template.key)
        if existing is not None and existing != template:
            raise ValueError(f"message template {template.key!r} is already registered with other text")
        self._templates[template.key] = template

    def get(self, key: str) -> MessageTemplate:
        template = self._templates.get(key)
        if template is None:
            raise ValidationFailed(f"消息模板 {key} 不存在", field="template", template=key)
        return template

    def keys(self) -> list[str]:
        return sorted(self._templates)


GENERIC = MessageTemplate(
    key="generic",
    title_zh="{title}",
    body_zh="{body}",
    title_en="{title}",
    body_en="{body}",
)
TICKET_ASSIGNED = MessageTemplate(
    key="ticket.assigned",
    title_zh="新工单：{ticket_no}",
    body_zh="您有一张新工单（编号 {ticket_no}）：{summary}。请于 {due_date} 前办理。",
    title_en="New ticket {ticket_no}",
    body_en="Ticket {ticket_no} has been assigned to you: {summary}. Please handle it by {due_date}.",
)
TICKET_DUE_SOON = MessageTemplate(
    key="ticket.due_soon",
    title_zh="工单即将到期：{ticket_no}",
    body_zh="工单 {ticket_no}（{summary}）将于 {due_date} 到期，请及时办理。",
    title_en="Ticket {ticket_no} is due soon",
    body_en="Ticket {ticket_no} ({summary}) is due on {due_date}. Please handle it in time.",
)

registry = TemplateRegistry([GENERIC, TICKET_ASSIGNED, TICKET_DUE_SOON])
