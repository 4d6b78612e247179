"""Departments designing forms at the same time (imported by name: test folders are not packages).

The province's data bureau, the civil-affairs department with two clerks, the market regulator with one,
and Hefei's data bureau, with the form documents the tests start from.
"""

from __future__ import annotations

from typing import Any

from wanshi.bootstrap import Platform
from wanshi.kernel.actor import Role
from worlds import World, build_world

ORGANISATIONS = {
    "bureau": ("安徽省数据资源管理局", "340000", "11340000MB1234567A"),
    "civil": ("安徽省民政厅", "340000", "11340000003000003D"),
    "market": ("安徽省市场监督管理局", "340000", "11340000003000002C"),
    "city": ("合肥市数据资源管理局", "340100", "11340100MB7654321C"),
}
STAFF = {
    "prov_admin": ("bureau", Role.SYS_ADMIN),
    "city_admin": ("city", Role.SYS_ADMIN),
    "civil_a": ("civil", Role.CLERK),
    "civil_b": ("civil", Role.CLERK),
    "market_clerk": ("market", Role.CLERK),
}

# 婚姻登记预约: choices that show fields, a repeated group, a computed field and an event rule.
MARRIAGE: dict[str, Any] = {
    "title": "婚姻登记预约申请表",
    "style": {"theme": "official", "label_position": "top", "accent": "red"},
    "fields": [
        {
            "key": "name",
            "type": "text",
            "label": "申请人姓名",
            "prefill": "account.name",
            "validation": {"required": True},
        },
        {
            "key": "id_number",
            "type": "id_number",
            "label": "身份证号码",
            "validation": {"required": True},
            "layout": {"width": 6},
        },
        {"key": "phone", "type": "phone", "label": "联系电话", "layout": {"width": 6}},
        {
            "key": "kind",
            "type": "radio",
            "label": "登记类型",
            "validation": {"required": True},
            "options": [{"value": "marry", "label": "结婚登记"}, {"value": "divorce", "label": "离婚登记"}],
        },
        {
            "key": "agreement",
            "type": "textarea",
            "label": "离婚协议要点",
            "validation": {"required": True},
            "visible_when": {"all": [{"field": "kind", "op": "eq", "value": "divorce"}]},
        },
        {
            "key": "children",
            "type": "repeat",
            "label": "子女情况",
            "visible_when": {"all": [{"field": "kind", "op": "eq", "value": "divorce"}]},
            "validation": {"max_items": 5},
            "children": [
                {"key": "child_name", "type": "text", "label": "子女姓名", "validation": {"required": True}},
                {
                    "key": "child_age",
                    "type": "number",
                    "label": "年龄",
                    "validation": {"minimum": 0, "maximum": 30},
                },
            ],
        },
        {
            "key": "child_count",
            "type": "computed",
            "label": "子女人数",
            "expression": "len(children or [])",
            "visible_when": {"all": [{"field": "kind", "op": "eq", "value": "divorce"}]},
        },
        {"key": "date", "type": "date", "label": "预约日期", "validation": {"required": True}},
        {"key": "fee", "type": "number", "label": "工本费", "unit": "元", "validation": {"decimals": 2}},
        {
            "key": "consent",
            "type": "checkbox",
            "label": "本人承诺所填信息真实",
            "validation": {"required": True},
        },
    ],
    "rules": [
        {
            "name": "离婚须填写电话",
            "when": {"all": [{"field": "kind", "op": "eq", "value": "divorce"}]},
            "then": [{"action": "require", "target": "phone"}],
        },
        {
            "name": "结婚登记免工本费",
            "when": {"all": [{"field": "kind", "op": "eq", "value": "marry"}]},
            "then": [{"action": "set", "target": "fee", "value": "0"}],
        },
    ],
}

# A valid resident ID number (GB 11643 check digit) of a person born 1990-03-07 in 合肥市瑶海区.
ID_NUMBER = "340102199003070010"


def forms_world(platform: Platform) -> World:
    return build_world(platform, ORGANISATIONS, STAFF)
