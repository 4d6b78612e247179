"""Showing a form and reading what a person posted: the web side every page with a form shares.

A page posts the fields by path plus a few controls: ``_action`` (``refresh``; ``add:<repeat>``;
``remove:<repeat>:<row>``; ``unfile:<path>:<file id>``), ``_touched`` (the fields a person has left, so a
live check does not scold fields they have not reached yet) and ``<path>._upload`` for files. The page
applies the action, the server evaluates, and the same macro draws the result, with JavaScript or without.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, UploadFile

from wanshi.forms.domain.answers import ROWS_SUFFIX, Evaluation, FieldState, Problem, touched_problems
from wanshi.forms.domain.schema import ROWS_HARD_MAX, FormDocument

CONTROLS = frozenset({"csrf_token", "_action", "_touched", "revision"})
UPLOAD_SUFFIX = "._upload"
TOUCHED_MAX = 400


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Posted:
    raw: dict[str, list[str]]
    action: str
    touched: tuple[str, ...]
    uploads: dict[str, list[UploadFile]]

    @property
    def submitting(self) -> bool:
        return not self.action


def read_posted(form: FormData, *, trigger: str | None = None) -> Posted:
    """The answers, the action and the touched fields of a posted form; ``trigger`` is the field htmx
    reports as changed (HX-Trigger-Name), which now counts as touched."""
    raw: dict[str, list[str]] = {}
    uploads: dict[str, list[UploadFile]] = {}
    for key, value in form.multi_items():
        if key in CONTROLS:
            continue
        if isinstance(value, UploadFile):
            if key.endswith(UPLOAD_SUFFIX) and value.filename:
                uploads.setdefault(key.removesuffix(UPLOAD_SUFFIX), []).append(value)
            continue
        raw.setdefault(key, []).append(value)
    touched = [t for t in str(form.get("_touched") or "").split(",") if t][:TOUCHED_MAX]
    if trigger and trigger not in CONTROLS and trigger not in touched:
        touched.append(trigger.removesuffix(UPLOAD_SUFFIX))
    return Posted(raw, str(form.get("_action") or ""), tuple(touched), uploads)


def apply_action(raw: dict[str, list[str]], action: str) -> dict[str, list[str]]:
    """Add or remove a row of a repeated group, or drop an uploaded file, on the posted answers."""
    verb, _, rest = action.partition(":")
    if verb == "add":
        count = _rows(raw, rest)
        raw[f"{rest}{ROWS_SUFFIX}"] = [str(min(count + 1, ROWS_HARD_MAX))]
    elif verb == "remove":
        repeat, _, index_text = rest.rpartition(":")
        if index_text.isdigit():
            raw = _without_row(raw, repeat, int(index_text))
    elif verb == "unfile":
        path, _, file_id = rest.rpartition(":")
        raw[path] = [v for v in raw.get(path, []) if v != file_id]
    return raw


def _rows(raw: Mapping[str, Sequence[str]], repeat: str) -> int:
    given = raw.get(f"{repeat}{ROWS_SUFFIX}")
    if given and given[0].isdigit():
        return int(given[0])
    prefix = f"{repeat}."
    indexes = {
        int(k[len(prefix) :].split(".")[0]) for k in raw if k.startswith(prefix) and k[len(prefix)].isdigit()
    }
    return max(indexes) + 1 if indexes else 0


def _without_row(raw: dict[str, list[str]], repeat: str, index: int) -> dict[str, list[str]]:
    count = _rows(raw, repeat)
    prefix = f"{repeat}."
    out: dict[str, list[str]] = {}
    for key, values in raw.items():
        if not key.startswith(prefix) or key == f"{repeat}{ROWS_SUFFIX}":
            out[key] = values
            continue
        head, _, tail = key[len(prefix) :].partition(".")
        if not head.isdigit():
            out[key] = values
            continue
        row = int(head)
        if row < index:
            out[key] = values
        elif row > index:
            out[f"{prefix}{row - 1}.{tail}"] = values
    out[f"{repeat}{ROWS_SUFFIX}"] = [str(max(count - 1, 0))]
    return out


@dataclass
class FormView:
    """What the form macro needs: the evaluation, which problems to show, and lookups for widgets."""

    evaluation: Evaluation
    touched: tuple[str, ...] = ()
    # A live check shows only the problems of fields already left; a submission shows all, with a summary.
    live: bool = False
    show_summary: bool = False
    divisions: Sequence[Option] = ()
    file_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def document(self) -> FormDocument:
        return self.evaluation.document

    @property
    def problems(self) -> tuple[Problem, ...]:
        # Only a submission shows every problem; a blank form or a live check shows those of fields left.
        if self.live or not self.show_summary:
            return touched_problems(self.evaluation, self.touched)
        return self.evaluation.problems

    def problems_for(self, path: str) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.path == path)

    def state(self, path: str) -> FieldState:
        return self.evaluation.states[path]

    def visible(self, path: str) -> bool:
        found = self.evaluation.states.get(path)
        return found is not None and found.visible

    def rows(self, path: str) -> int:
        return self.evaluation.rows.get(path, 0)

    def sibling(self, path: str, key: str) -> str:
        head, _, _ = path.rpartition(".")
        return f"{head}.{key}" if head else key

    def can_add_row(self, path: str) -> bool:
        rule = self.state(path).definition.validation
        return self.rows(path) < min(rule.max_items or ROWS_HARD_MAX, ROWS_HARD_MAX)

    def can_remove_row(self, path: str) -> bool:
        state = self.state(path)
        least = state.definition.validation.min_items or (1 if state.required else 0)
        return self.rows(path) > least

    def file_name(self, file_id: str) -> str:
        return self.file_names.get(file_id, f"附件 {file_id}")


def answers_json(evaluation: Evaluation) -> dict[str, Any]:
    """The outcome of a check for the JSON API: problems with their paths, and what is shown."""
    return {
        "ok": evaluation.ok,
        "problems": [{"path": p.path, "code": p.code, "message": p.message} for p in evaluation.problems],
        "visible": sorted(p for p, s in evaluation.states.items() if s.visible),
        "required": sorted(p for p, s in evaluation.states.items() if s.visible and s.required),
    }
