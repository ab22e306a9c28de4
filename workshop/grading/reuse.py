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
# Names through which code reaches definitions without naming them, or changes them.
DYNAMIC = frozenset(
    {"globals", "locals", "vars", "eval", "exec", "compile", "__import__", "setattr", "delattr"}
    | {"__name__", "__builtins__", "__doc__", "__file__", "__annotations__", "__spec__"}
    | {"__loader__", "__cached__"}
)
DYNAMIC_MODULES = frozenset({"sys", "importlib", "inspect", "builtins", "gc", "ctypes"})
DYNAMIC_ATTRIBUTES = frozenset(
    {"__dict__", "__globals__", "f_globals", "__module__", "__subclasses__", "__setattr__"}
    | {"__defaults__", "__kwdefaults__", "__code__", "__closure__"}
)


class _Definition:
    __slots__ = ("dump", "refs", "kind", "dynamic", "hooks", "stores")

    def __init__(self):
        self.dump: list[str] = []  # every statement binding the name, in order
        self.refs: set[str] = set()  # the names it mentions
        self.kind = "import"  # "import", "function", "class", "constant" or "variable"
        self.dynamic = False  # reaches definitions without naming them
        self.hooks: set[str] = set()  # decorators and bases: code that receives it at import
        self.stores: set[str] = set()  # names whose attributes or items it assigns


def _walk_names(nodes) -> set[str]:
    return {
        n.id
        for node in nodes
        if node is not None
        for n in ast.walk(node)
        if isinstance(n, ast.Name)
    }


def _dynamic(node: ast.AST, own: str) -> bool:
    """Whether code reaches the lesson's definitions without naming them (or imports itself)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in DYNAMIC:
            return True
        if isinstance(sub, ast.alias) and sub.name.split(".")[0] in DYNAMIC_MODULES | {own}:
            return True
        if isinstance(sub, ast.ImportFrom) and (sub.module or "").split(".")[0] in (
            DYNAMIC_MODULES | {own}
        ):
            return True
        if isinstance(sub, ast.Constant) and sub.value == own:
            return True
        if isinstance(sub, ast.Attribute) and sub.attr in DYNAMIC_ATTRIBUTES:
            return True
    return False


def _stores(node: ast.AST) -> set[str]:
    """The names whose attributes or items `node` assigns or deletes (`X.a = ...`, `X[k] = ...`)."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(
            sub.ctx, (ast.Store, ast.Del)
        ):
            root = sub.value
            while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
                root = root.func if isinstance(root, ast.Call) else root.value
            # A name (a module variable, or a parameter or local holding who knows
            # what), else EVERYTHING: a store through a call's result, say.
            found.add(root.id if isinstance(root, ast.Name) else EVERYTHING)
    return found


def _runs(part: ast.AST) -> bool:
    """Whether evaluating `part` at import runs code (anything beyond names, literals,
    containers of them and lambdas, whose bodies wait)."""
    if isinstance(part, (ast.Name, ast.Constant)):
        return False
    if isinstance(part, (ast.List, ast.Tuple, ast.Set)):
        return any(_runs(e) for e in part.elts)
    if isinstance(part, ast.Dict):
        return any(_runs(e) for e in (*part.keys, *part.values) if e is not None)
    if isinstance(part, ast.Lambda):
        return any(_runs(d) for d in (*part.args.defaults, *part.args.kw_defaults) if d)
    return True


def _annotation_names(node: ast.AST) -> set[str]:
    """Names inside string annotations (`x: "ClassVar[int]"`), which ast sees as text."""
    found = set()
    for sub in ast.walk(node):
        notes = []
        if isinstance(sub, (ast.AnnAssign, ast.arg)):
            notes.append(sub.annotation)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
            notes.append(sub.returns)
        for note in notes:
            for c in ast.walk(note) if note is not None else ():
                if isinstance(c, ast.Constant) and isinstance(c.value, str):
                    try:
                        found |= _walk_names([ast.parse(c.value, mode="eval")])
                    except (SyntaxError, ValueError, RecursionError):
                        found.add(EVERYTHING)
    return found


def _immutable(value: ast.expr | None) -> bool:
    """A literal no code can change in place (a number, a string, a tuple of them)."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.UnaryOp):
        return _immutable(value.operand)
    if isinstance(value, ast.Tuple):
        return all(_immutable(v) for v in value.elts)
    return False


def _at_import(node: ast.stmt) -> list[ast.AST]:
    """The parts of a top-level definition that run when the file is imported."""
    return [part for part in _import_parts(node) if part is not None]


def _import_parts(node: ast.stmt) -> list:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        every = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
        notes = [x.annotation for x in every if x is not None]
        return [*node.decorator_list, *a.defaults, *a.kw_defaults, *notes, node.returns]
    if isinstance(node, ast.ClassDef):
        parts = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
        for item in node.body:  # a class body runs at import; its methods' bodies do not
            parts.extend(_at_import(item) if isinstance(item, ast.FunctionDef) else [item])
        return parts
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return []
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return [node.value, getattr(node, "annotation", None)]
    return [node]


def _main_block(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":` (never run in grading: the lesson is imported by its name)."""
    test = getattr(node, "test", None)
    return (
        isinstance(node, ast.If)
        and not node.orelse
        and isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _bound(node: ast.stmt) -> list[str] | None:
    """The names a top-level statement defines, or None when it is not a plain definition."""
    if any(isinstance(sub, ast.NamedExpr) for part in _at_import(node) for sub in ast.walk(part)):
        return None  # `X = (Y := ...)` binds Y too, at import
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


def _kind(node: ast.stmt) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "function"
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "import"
    return "constant" if _immutable(node.value) else "variable"


@functools.lru_cache(maxsize=8)
def _read(text: str, own: str):
    """(definitions by name, the rest of the top level as text, names import-time code uses)
    or None when the file gives no certainty (does not parse, `global`, a module __getattr__)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if any(isinstance(n, ast.Global) for n in ast.walk(tree)):
        return None  # a function assigns a module variable: who reads it when is unknowable
    definitions: dict[str, _Definition] = {}
    rest, at_import = [], set()
    for node in tree.body:
        if _main_block(node):
            continue
        names = _bound(node)
        # Code that runs at import: decorators and bases (called with the definition),
        # and every part that does more than name things.
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            at_import |= _walk_names(node.decorator_list)
        if isinstance(node, ast.ClassDef):
            at_import |= _walk_names([*node.bases, *(k.value for k in node.keywords)])
        at_import |= _walk_names(p for p in _at_import(node) if _runs(p))
        if names is None:
            rest.append(ast.dump(node))
            continue
        if any(n in ("__getattr__", "__dir__") for n in names):
            return None
        refs = _walk_names([node]) | _annotation_names(node)
        dump, dynamic = ast.dump(node), _dynamic(node, own) or EVERYTHING in refs
        for name in names:
            d = definitions.setdefault(name, _Definition())
            d.dump.append(dump)
            d.refs |= refs - {name}
            d.kind = _kind(node) if len(d.dump) == 1 else "variable"  # bound twice: changeable
            if d.kind == "function" and not all(
                _immutable(v) for v in (*node.args.defaults, *node.args.kw_defaults) if v
            ):
                d.kind = "variable"  # a mutable default keeps state between calls
            d.dynamic = d.dynamic or dynamic
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                d.hooks |= _walk_names(node.decorator_list)
                if isinstance(node, ast.ClassDef):
                    d.hooks |= _walk_names([*node.bases, *(k.value for k in node.keywords)])
            d.stores |= _stores(node)
    return definitions, "\n".join(rest), frozenset(at_import)


def _reach(definitions: dict, names) -> set[str] | None:
    """Every name `names` lead to through `definitions`; None where one reaches the lesson
    dynamically (or is the whole module)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name == EVERYTHING:
            return None
        if name in seen:
            continue
        seen.add(name)
        if name in definitions:
            if definitions[name].dynamic:
                return None
            todo.extend(definitions[name].refs)
    return seen


def _lesson_code(definitions: dict, names) -> bool:
    """Whether `names` reach anything the lesson defines itself (not an import)."""
    reached = _reach(definitions, names)
    return reached is None or any(
        n in definitions and definitions[n].kind != "import" for n in reached
    )


def changed_names(old: str, new: str, own: str = "") -> set[str] | None:
    """The top-level names a change may affect; None when it may affect anything.

    A name counts when its definition differs, and so does every changeable
    module-level value (a variable, a class) a changed definition reaches, and
    whatever it assigns into (it may fill a cache that another definition
    reads). Anything is affected when: the rest of the top level changed (a
    call, a loop); code that runs at import reaches a changed definition; a
    changed definition is handed to the lesson's own decorator or base class.
    `own`: the lesson's module name (code that imports it reaches anything).
    """
    before, after = _read(old, own), _read(new, own)
    if before is None or after is None:
        return None
    (old_defs, old_rest, old_import), (new_defs, new_rest, new_import) = before, after
    if old_rest != new_rest:
        return None
    changed = {
        name
        for name in old_defs.keys() | new_defs.keys()
        if name not in old_defs
        or name not in new_defs
        or old_defs[name].dump != new_defs[name].dump
    }
    for defs, at_import in ((old_defs, old_import), (new_defs, new_import)):
        if changed & (_reach(defs, at_import) or {EVERYTHING}):
            return None
        if any(_lesson_code(defs, defs[name].hooks) for name in changed & defs.keys()):
            return None
    affected = set()  # what running the changed code may modify in place
    for defs in (old_defs, new_defs):
        changeable = {n for n, d in defs.items() if d.kind in ("variable", "class")}
        for name in changed & defs.keys():
            reached = _reach(defs, [name])
            if reached is None:
                return None
            for r in reached:
                if r in defs:
                    stores = defs[r].stores
                    affected |= stores & defs.keys()
                    if stores - defs.keys():  # into a parameter, a local, a call's result
                        affected |= changeable  # whatever was handed to it
                    if r in changeable:
                        affected.add(r)
    return changed | affected


def reach(text: str, names, own: str = "") -> set[str] | None:
    """Every top-level name `names` lead to through the definitions of `text` (None: unknown)."""
    read = _read(text, own)
    return None if read is None else _reach(read[0], names)


def reusable(old: str, new: str, checks: dict[str, dict], own: str = "") -> set[str]:
    """The checks (name -> {"outcome", "uses"}) run on `old` whose verdict holds for `new`.

    Only passed checks with known uses qualify; each must reach no changed
    definition, in the old text or the new. `own`: the lesson's module name.
    """
    changed = changed_names(old, new, own)
    if changed is None:
        return set()
    defined = _read(old, own)[0].keys() & _read(new, own)[0].keys()
    keep = set()
    for name, check in checks.items():
        uses = check.get("uses")
        if check.get("outcome") != "passed" or not isinstance(uses, list):
            continue
        if not defined.issuperset(uses):  # a name made at run time (globals()[...] = ...)
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
