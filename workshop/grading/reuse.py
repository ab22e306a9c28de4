"""Which passed checks a `watch` re-check need not run again: the code they reach did not change.

While an attendee works, a save usually changes one function. The judge
tells, for each check, which of the lesson's top-level names it asked for
(`lesson.train(...)`, and every `lesson.X` in the scenarios it sent); this
module reads the lesson's text before and after the save and finds the
definitions that changed. A check that passed last time, and whose names
reach (through the names each definition mentions) no changed definition,
would compute the same verdict from the same code: `workshop watch` keeps
that verdict and runs the rest. Everything here reads text only; nothing
of the attendee's runs.

Run everything again whenever the answer is not certain: the file does not
parse; anything at the top level other than a definition, an import or a
plain assignment changed (a loop, a call, `if __name__ == ...`); a
definition uses `global`, `globals()`, `eval` or the like; the check
handed the whole lesson module to something (`"*"`). A changed definition
also counts as changed the module-level variables it mentions that hold a
changeable value (it may fill a cache another one reads).
"""

from __future__ import annotations

import ast
import functools

EVERYTHING = "*"  # a check that used the lesson module as a whole
# Names through which code reaches definitions without naming them.
DYNAMIC = frozenset(
    {"globals", "locals", "vars", "eval", "exec", "compile", "__import__", "importlib", "sys"}
    | {"inspect", "builtins", "__builtins__"}
)
DYNAMIC_ATTRIBUTES = frozenset({"__dict__", "__globals__", "f_globals", "__module__"})


class _Definition:
    __slots__ = ("dump", "refs", "variable")

    def __init__(self):
        self.dump: list[str] = []  # every statement binding the name, in order
        self.refs: set[str] = set()
        self.variable = False  # bound by an assignment to a value code may change in place


def _names_in(node: ast.AST, own: str) -> tuple[set[str], bool]:
    """Every name a statement mentions, and whether it reaches definitions dynamically
    (the module's namespace, a `global`, or the lesson `own` itself, imported by name)."""
    names, dynamic = set(), False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.alias):
            dynamic = dynamic or sub.name.split(".")[0] == own
        elif isinstance(sub, ast.ImportFrom):
            dynamic = dynamic or (sub.module or "").split(".")[0] == own
        elif isinstance(sub, ast.Constant):
            dynamic = dynamic or sub.value == own
        elif isinstance(sub, ast.Global):
            dynamic = True
        elif isinstance(sub, ast.Attribute):
            dynamic = dynamic or sub.attr in DYNAMIC_ATTRIBUTES
    return names, dynamic or bool(names & DYNAMIC)


def _bound(node: ast.stmt) -> list[str] | None:
    """The names a top-level statement defines, or None when it is not a plain definition."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Import):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if any(a.name == "*" for a in node.names):
            return None
        return [a.asname or a.name for a in node.names]
    if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
        return [t.id for t in node.targets]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return None


def _immutable(value: ast.expr | None) -> bool:
    """A literal no code can change in place (a number, a string, a tuple of them)."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.UnaryOp):
        return _immutable(value.operand)
    if isinstance(value, ast.Tuple):
        return all(_immutable(v) for v in value.elts)
    return False


@functools.lru_cache(maxsize=8)
def _read(text: str, own: str):
    """(definitions by name, the rest of the top level as text, dynamic?) or None."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    definitions: dict[str, _Definition] = {}
    rest, dynamic = [], False
    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the module's docstring
    for node in body:
        names = _bound(node)
        dump = ast.dump(node)
        if names is None:
            rest.append(dump)
            continue
        refs, dyn = _names_in(node, own)
        dynamic = dynamic or dyn
        for name in names:
            d = definitions.setdefault(name, _Definition())
            d.dump.append(dump)
            d.refs |= refs - {name}
            d.variable = d.variable or (
                isinstance(node, (ast.Assign, ast.AnnAssign)) and not _immutable(node.value)
            )
    return definitions, "\n".join(rest), dynamic


def changed_names(old: str, new: str, own: str = "") -> set[str] | None:
    """The top-level names whose definitions differ; None when anything else changed.

    `own`: the lesson's module name (code that imports it reaches anything)."""
    before, after = _read(old, own), _read(new, own)
    if before is None or after is None:
        return None
    (old_defs, old_rest, old_dyn), (new_defs, new_rest, new_dyn) = before, after
    if old_rest != new_rest or old_dyn or new_dyn:
        return None
    changed = {
        name
        for name in old_defs.keys() | new_defs.keys()
        if name not in old_defs
        or name not in new_defs
        or old_defs[name].dump != new_defs[name].dump
    }
    for name in list(changed):  # the module-level values a changed definition may modify
        for defs in (old_defs, new_defs):
            if name in defs:
                changed |= {r for r in defs[name].refs if r in defs and defs[r].variable}
    return changed


def reach(text: str, names, own: str = "") -> set[str] | None:
    """Every top-level name `names` lead to through the definitions of `text` (None: unknown)."""
    read = _read(text, own)
    if read is None:
        return None
    definitions = read[0]
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name == EVERYTHING:
            return None
        if name in seen:
            continue
        seen.add(name)
        if name in definitions:
            todo.extend(definitions[name].refs)
    return seen


def reusable(old: str, new: str, checks: dict[str, dict], own: str = "") -> set[str]:
    """The checks (name -> {"outcome", "uses"}) run on `old` whose verdict holds for `new`.

    Only passed checks with known uses qualify; each must reach no changed
    definition, in the old text or the new. `own`: the lesson's module name.
    """
    changed = changed_names(old, new, own)
    if changed is None:
        return set()
    keep = set()
    for name, check in checks.items():
        uses = check.get("uses")
        if check.get("outcome") != "passed" or not isinstance(uses, list):
            continue
        before, after = reach(old, uses, own), reach(new, uses, own)
        if before is None or after is None or (before | after) & changed:
            continue
        keep.add(name)
    return keep


def scenario_uses(source: str) -> list[str]:
    """The lesson's names a scenario's source reads (`lesson.X`); ["*"] if it uses it otherwise."""
    return list(_scenario_uses(source))


@functools.lru_cache(maxsize=256)
def _scenario_uses(source: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return (EVERYTHING,)
    function = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
    if function is None or not function.args.args:
        return (EVERYTHING,)
    module = function.args.args[0].arg
    attributes = {
        id(n.value): n.attr
        for n in ast.walk(function)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == module
    }
    names = set()
    for n in ast.walk(function):
        if isinstance(n, ast.Name) and n.id == module:
            if id(n) not in attributes:
                return (EVERYTHING,)  # the module itself handed on, or reassigned
            names.add(attributes[id(n)])
    return tuple(sorted(names))
