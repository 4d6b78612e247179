"""What other contexts use of the forms centre: published forms and the server's check of answers."""

from wanshi.forms.domain.answers import Evaluation, Problem, flatten, plain
from wanshi.forms.domain.records import FormKind
from wanshi.forms.domain.schema import FormDocument
from wanshi.forms.services import (
    ListForms,
    Published,
    SaveFormEntry,
    check_answers,
    list_forms,
    published_form,
    save_form_entry,
)

__all__ = [
    "Evaluation",
    "FormDocument",
    "FormKind",
    "ListForms",
    "Problem",
    "Published",
    "SaveFormEntry",
    "check_answers",
    "flatten",
    "list_forms",
    "plain",
    "published_form",
    "save_form_entry",
]
