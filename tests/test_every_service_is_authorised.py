"""Every service function that acts for someone authorises first (issue #4 item 5: a policy for every
service function).

An AST scan of each context's services module (``services.py`` or a ``services/`` package, the data
centre's included): a public function, or a public method of a public class, that takes an ``actor``
must in its body call ``uow.authorize(``, a ``policies.`` function or an ``authorise_`` function, or call
a function of the same module (a method of the same class) that does, one level deep. The few that
deliberately do not are listed in EXCEPTIONS with the reason.

A ``policies.`` answer counts where it can decide: on its own, in a condition, assigned, returned, or
passed to ``uow.authorize``, an ``authorise_`` function or a function of the module that calls one; passed
into any other call (``uow.audit(..., allowed=policies.can_x(actor))``) it authorises nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import wanshi

SRC = Path(wanshi.__file__).parent
GUARD_PREFIXES = ("authorise_", "authorize_")

# "module path relative to src/wanshi::qualified name" -> why it does not authorise.
EXCEPTIONS = {
    "tickets/services.py::raise_ticket": (
        "runs inside another context's unit of work, which authorised the action the ticket belongs to "
        "(documented in tickets/api.py and tickets/policies.py)"
    ),
    "identity/services/factors.py::Factors.enrol_totp": (
        "a step of Accounts.enrol_totp and Login.enrol_totp_and_finish, which authorise (or pass the "
        "password step) and commit; documented as such"
    ),
}

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Checked:
    name: str  # "module::qualified name"
    guarded: bool


def services_modules(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*.py")
        if p.name == "services.py" or "services" in p.relative_to(root).parts[:-1]
    )


def _calls(fn: Function) -> Iterator[ast.expr]:
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            yield node.func


def _root_name(expr: ast.expr) -> str:
    while isinstance(expr, ast.Attribute):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else ""


def _raises(func: ast.expr) -> bool:
    """``uow.authorize(`` or an ``authorise_`` function: they raise on refusal, wherever they are called."""
    if isinstance(func, ast.Attribute):
        if func.attr == "authorize" and isinstance(func.value, ast.Name) and func.value.id == "uow":
            return True
        return func.attr.lstrip("_").startswith(GUARD_PREFIXES)
    return isinstance(func, ast.Name) and func.id.lstrip("_").startswith(GUARD_PREFIXES)


def _is_policy(func: ast.expr) -> bool:
    return isinstance(func, ast.Attribute) and _root_name(func) == "policies"


def _deciders(module: dict[str, Function]) -> frozenset[str]:
    """The module's own functions that call a raising guard: a policy answer passed to one of them
    (``_authorize(uow, policies.can_provide(...), ...)``) decides."""
    return frozenset(name for name, fn in module.items() if any(_raises(func) for func in _calls(fn)))


def _guard_calls(node: ast.AST, deciders: frozenset[str], *, passed_on: bool = False) -> Iterator[ast.Call]:
    """Guard calls whose answer decides something. A policy answer passed into any other call (an audit
    line, a query filter) authorises nothing, so it does not count there."""
    if isinstance(node, ast.Call):
        decides = _raises(node.func) or (isinstance(node.func, ast.Name) and node.func.id in deciders)
        if _raises(node.func) or (_is_policy(node.func) and not passed_on):
            yield node
        yield from _guard_calls(node.func, deciders, passed_on=passed_on)
        for arg in (*node.args, *(k.value for k in node.keywords)):
            yield from _guard_calls(arg, deciders, passed_on=passed_on or not decides)
        return
    for child in ast.iter_child_nodes(node):
        yield from _guard_calls(child, deciders, passed_on=passed_on)


def guards_directly(fn: Function, deciders: frozenset[str] = frozenset()) -> bool:
    return any(True for _ in _guard_calls(fn, deciders))


def _delegates(
    fn: Function, siblings: dict[str, Function], module: dict[str, Function]
) -> Iterator[Function]:
    """Functions of the same module, or methods of the same class through self/cls, that fn calls."""
    for func in _calls(fn):
        if isinstance(func, ast.Name) and func.id in module:
            yield module[func.id]
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
            and func.attr in siblings
        ):
            yield siblings[func.attr]


def _functions(body: list[ast.stmt]) -> dict[str, Function]:
    return {n.name: n for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _takes_actor(fn: Function) -> bool:
    args = fn.args
    return any(a.arg == "actor" for a in (*args.posonlyargs, *args.args, *args.kwonlyargs))


def scan(root: Path) -> list[Checked]:
    checked = []
    for path in services_modules(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = _functions(tree.body)
        deciders = _deciders(module)
        scopes = [("", tree.body)] + [
            (f"{c.name}.", c.body)
            for c in tree.body
            if isinstance(c, ast.ClassDef) and not c.name.startswith("_")
        ]
        for prefix, body in scopes:
            siblings = _functions(body)
            for name, fn in siblings.items():
                if name.startswith("_") or not _takes_actor(fn):
                    continue
                guarded = guards_directly(fn, deciders) or any(
                    guards_directly(d, deciders) for d in _delegates(fn, siblings, module) if d is not fn
                )
                where = path.relative_to(root).as_posix()
                checked.append(Checked(f"{where}::{prefix}{name}", guarded))
    return checked


def unguarded(root: Path) -> set[str]:
    return {c.name for c in scan(root) if not c.guarded}


def test_every_service_function_that_takes_an_actor_authorises() -> None:
    missing = sorted(unguarded(SRC) - EXCEPTIONS.keys())
    assert not missing, "service functions that never authorise:\n" + "\n".join(missing)


def test_the_scan_covers_every_context_and_the_exceptions_are_still_needed() -> None:
    checked = scan(SRC)
    modules = {c.name.split("::")[0] for c in checked}
    for context in ("audit", "notify", "ops", "org", "tickets", "workdays"):
        assert f"{context}/services.py" in modules
    for part in ("catalogue", "ingest", "masterdata", "quality", "registry"):
        assert f"datahub/{part}/services.py" in modules
    assert any(m.startswith("identity/services/") for m in modules)
    # An exception whose function now authorises (or is gone) is removed from the list, not kept.
    assert set(EXCEPTIONS) <= {c.name for c in checked if not c.guarded}


SAMPLE = """
from wanshi.example import policies


def guarded(uow, cmd, actor):
    uow.authorize(policies.can_do(actor), actor, "x.do")


def by_policy(uow, actor):
    policies.authorise_read(actor)


def by_helper(uow, actor):
    return _checked(uow, actor)


def _checked(uow, actor):
    _authorise_change(uow, actor)


def two_levels(uow, actor):
    return by_helper(uow, actor)


def unguarded(uow, cmd, actor):
    return cmd


def answer_ignored(uow, actor):
    uow.audit(actor, "x.read", allowed=policies.can_read(actor))


def answer_decides(uow, actor):
    _decide(uow, policies.can_read(actor), actor)


def _decide(uow, allowed, actor):
    uow.authorize(allowed, actor, "x.read")


def raising_inside(uow, actor):
    return repository.count(uow.session, policies.authorise_list(actor))


def answer_kept(uow, actor):
    if not policies.can_read(actor):
        raise PermissionDenied()


def _private(uow, actor):
    return None


def no_actor(uow):
    return None


class Service:
    def guarded(self, uow, actor):
        return self.check(uow, actor)

    def check(self, uow, actor):
        uow.authorize(True, actor, "x")

    def unguarded(self, uow, actor):
        return uow.session.get(actor)

    def other_authorize(self, uow, actor, audit):
        audit.authorize(actor)
"""


def test_the_scan_names_each_unguarded_function(tmp_path: Path) -> None:
    """The scan itself: on a module written for it, exactly the functions without a guard are named."""
    (tmp_path / "sample").mkdir()
    (tmp_path / "sample" / "services.py").write_text(SAMPLE, encoding="utf-8")
    (tmp_path / "sample" / "web.py").write_text("def page(uow, actor):\n    return None\n", encoding="utf-8")
    assert unguarded(tmp_path) == {
        "sample/services.py::two_levels",
        "sample/services.py::unguarded",
        "sample/services.py::answer_ignored",
        "sample/services.py::Service.unguarded",
        "sample/services.py::Service.other_authorize",
    }
