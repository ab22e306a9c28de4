"""Mutation testing of the grading checks: wrong and lazy versions of each solution must fail.

Each marked block of a solution (what an attendee writes for one TODO) is
mutated one change at a time, and every mutant is graded through the same
judge as an attendee's file (`runner.run_checks`). A mutant the checks pass
*survived*: a wrong answer that would get the points.

Two families of operators:
- the usual ones of a mutation tool, after mutmut's set (arithmetic and
  augmented assignment swaps, comparisons, `not`/`is`/`in`, `and`/`or`,
  numbers + 1, strings, True/False/None, break/continue, an assigned value
  or a keyword argument's value set to None, a keyword argument removed)
  and cosmic-ray's (a statement deleted, a `for` over nothing), plus a
  return value replaced by None;
- lazy answers, what an attendee who skips the work hands in: every value
  the block gives back replaced by an empty array, by zeros or by a
  constant of the right shape; `fit` skipped (the model stays untrained, a
  made-up history is returned); a measured number (`evaluate`, `predict`)
  replaced by a constant.
The goal is every lazy mutant killed and at least 95 % of the others;
mutants that cannot be told apart from the solution (equivalent) are listed
with their reason in `tests/mutants_equivalent.toml`. A mutant inside one
backend's own branch (`if keras.backend.backend() == "jax":`) runs only
there: it is graded when the run's backend is that one and counted apart
otherwise (`KERAS_BACKEND=jax workshop verify 10 --mutants` scores the rest).
"""

from __future__ import annotations

import ast
import concurrent.futures
import difflib
import hashlib
import random
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from workshop import ROOT
from workshop.catalog import Module
from workshop.stubs import Block, solution_blocks

EQUIVALENTS = "tests/mutants_equivalent.toml"
LAZY_GOAL = 1.0
OTHER_GOAL = 0.95

# --------------------------------------------------------------------------- the mutants


@dataclass
class Mutant:
    module: str
    todo: str
    operator: str
    lazy: bool
    line: int  # first line changed (1-based, in the solution)
    before: str  # the changed line(s) as written, stripped
    after: str  # as mutated, stripped
    source: str  # the whole mutated solution
    backends: frozenset[str] | None = None  # set: runs only there (a backend's own branch)

    @property
    def id(self) -> str:
        """Stable across edits elsewhere in the file: the TODO, the operator and the change."""
        return f"{self.todo}: {self.operator}: {self.before} => {self.after}"

    @property
    def key(self) -> str:
        return hashlib.sha1(self.id.encode()).hexdigest()[:10]

    def diff(self, original: str) -> str:
        """The change, as a unified diff (without the lazy helpers appended to the file)."""
        mutated = self.source.split(LAZY_HELPERS)[0]
        lines = difflib.unified_diff(
            original.splitlines(keepends=True),
            mutated.splitlines(keepends=True),
            "solution",
            "mutant",
            n=1,
        )
        return "".join(lines)


_BINOP_SWAPS = {
    ast.Add: [ast.Sub],
    ast.Sub: [ast.Add],
    ast.Mult: [ast.Div],
    ast.Div: [ast.Mult],
    ast.FloorDiv: [ast.Div],
    ast.Mod: [ast.Div],
    ast.Pow: [ast.Mult],
    ast.MatMult: [ast.Mult],
    ast.LShift: [ast.RShift],
    ast.RShift: [ast.LShift],
    ast.BitAnd: [ast.BitOr],
    ast.BitOr: [ast.BitAnd],
    ast.BitXor: [ast.BitAnd],
}
_COMPARE_SWAPS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
#: Calls whose result is a measurement: a lazy answer makes the number up.
_MEASURES = {"evaluate", "predict", "score", "predict_on_batch", "test_on_batch"}
_KERAS_WORDS = ("keras", "Sequential", ".compile(", ".fit(", "layers.")


class _Source:
    """A solution's text with edits by AST position (AST columns count UTF-8 bytes)."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.splitlines(keepends=True)

    def offset(self, line: int, col: int) -> int:
        before = sum(len(ln) for ln in self.lines[: line - 1])
        return before + len(self.lines[line - 1].encode("utf-8")[:col].decode("utf-8"))

    def segment(self, node: ast.AST) -> str:
        return self.text[self.span(node)[0] : self.span(node)[1]]

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),
            self.offset(node.end_lineno, node.end_col_offset),
        )

    def replace(self, edits: list[tuple[ast.AST, str]]) -> str:
        text = self.text
        for node, new in sorted(edits, key=lambda e: self.span(e[0])[0], reverse=True):
            start, end = self.span(node)
            text = text[:start] + new + text[end:]
        return text


def _expr(node: ast.AST) -> str:
    """A node's code, parenthesised where it could bind differently in its place."""
    text = ast.unparse(node)
    simple = (ast.Name, ast.Constant, ast.Attribute, ast.Call, ast.Subscript, ast.Tuple, ast.List)
    return text if isinstance(node, simple) else f"({text})"


def _with(node: ast.AST, **changes) -> ast.AST:
    new = type(node)(**{**{f: getattr(node, f) for f in node._fields}, **changes})
    return ast.copy_location(new, node)


def _inside(node: ast.AST, block: Block) -> bool:
    return (
        hasattr(node, "lineno")
        and block.first <= node.lineno
        and getattr(node, "end_lineno", node.lineno) <= block.last
    )


def _standard(node: ast.AST, parent: ast.AST | None, src: _Source):
    """(operator, [(node, replacement text)]) for every usual mutation of one node."""
    if isinstance(node, ast.BinOp):
        for new in _BINOP_SWAPS.get(type(node.op), []):
            yield "arithmetic", [(node, _expr(_with(node, op=new())))]
    elif isinstance(node, ast.AugAssign):
        target = ast.unparse(node.target)
        for new in _BINOP_SWAPS.get(type(node.op), []):
            yield "assignment", [(node, ast.unparse(_with(node, op=new())))]
        yield "assignment", [(node, f"{target} = {ast.unparse(node.value)}")]
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _COMPARE_SWAPS:
                ops = list(node.ops)
                ops[i] = _COMPARE_SWAPS[type(op)]()
                yield "comparison", [(node, _expr(_with(node, ops=ops)))]
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield "boolean", [(node, _expr(_with(node, op=other)))]
    elif isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.UAdd):
        if not (isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)):
            yield "unary", [(node, _expr(node.operand))]
        elif isinstance(node.operand.value, (int, float)) and node.operand.value != 0:
            yield "number", [(node, repr(-node.operand.value + 1))]
    elif isinstance(node, ast.Constant) and not _is_docstring(node, parent):
        value = node.value
        if isinstance(value, bool):
            yield "true_false", [(node, repr(not value))]
        elif isinstance(value, (int, float)) and not isinstance(parent, ast.UnaryOp):
            yield "number", [(node, repr(value + 1))]
        elif isinstance(value, str) and not isinstance(parent, ast.JoinedStr):
            yield "string", [(node, repr(f"XX{value}XX"))]
    elif isinstance(node, (ast.Break, ast.Continue)):
        yield "keyword", [(node, "continue" if isinstance(node, ast.Break) else "break")]
    elif isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg in (None, "verbose"):  # what fit prints is not the lesson
                continue
            rest = [k for k in node.keywords if k is not keyword]
            yield "argument", [(node, ast.unparse(_with(node, keywords=rest)))]
            if not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None):
                none = ast.keyword(arg=keyword.arg, value=ast.Constant(None))
                changed = [none if k is keyword else k for k in node.keywords]
                yield "argument", [(node, ast.unparse(_with(node, keywords=changed)))]
    if isinstance(node, ast.Assign) and not _is_none(node.value):
        yield "expression", [(node.value, "None")]
    if isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
        yield "return", [(node, "return None")]
    if isinstance(node, ast.For):
        yield "loop", [(node.iter, "[]")]
    statement = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)
    if isinstance(node, statement) and not _is_docstring(getattr(node, "value", None), parent):
        yield "statement", [(node, "pass")]


def _is_none(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_docstring(node, parent) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and isinstance(parent, ast.Expr)
    )


def _quiet(node: ast.AST) -> bool:
    """Code that only talks (a print, an f-string, an error's message): not mutated."""
    if isinstance(node, (ast.JoinedStr, ast.Raise)):
        return True
    call = node.value if isinstance(node, ast.Expr) else node
    return isinstance(call, ast.Call) and getattr(call.func, "id", None) == "print"


def _block_nodes(tree: ast.AST, block: Block):
    """(node, parent) for every node inside the block, outermost first (prints left out)."""
    stack = [(tree, None)]
    while stack:
        node, parent = stack.pop()
        if node is not tree and _quiet(node):
            continue
        if node is not tree and _inside(node, block):
            yield node, parent
        for child in reversed(list(ast.iter_child_nodes(node))):
            stack.append((child, node))


def _value_sites(tree: ast.AST, block: Block) -> list[ast.AST]:
    """What the block gives back: its returns' values, else the values it assigns."""
    nodes = [n for n, _ in _block_nodes(tree, block)]
    returns = [n.value for n in nodes if isinstance(n, ast.Return) and n.value is not None]
    if returns:
        return returns
    top = [n for n in nodes if isinstance(n, ast.Assign) and n.col_offset == block.indent]
    return [n.value for n in top]


def _lazy(tree: ast.AST, block: Block, src: _Source):
    """(operator, edits) for the lazy answers a block allows."""
    text = "\n".join(block.code)
    nodes = [n for n, _ in _block_nodes(tree, block)]
    if not any(word in text for word in _KERAS_WORDS):
        sites = _value_sites(tree, block)
        if sites:
            for kind in ("empty", "zeros", "constant"):
                yield kind, [(s, f"_lazy_{kind}({src.segment(s)})") for s in sites]
    fits = [n for n in nodes if isinstance(n, ast.Call) and _method(n) == "fit"]
    if fits:
        yield "skip_fit", [(call, _redirect(call, "_lazy_fit", src)) for call in fits]
    for call in (n for n in nodes if isinstance(n, ast.Call) and _method(n) in _MEASURES):
        yield "made_up_number", [(call, f"_lazy_constant({src.segment(call)})")]


def _method(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _redirect(call: ast.Call, helper: str, src: _Source) -> str:
    """`obj.fit(a, b=1)` -> `helper(obj, a, b=1)`."""
    args = [src.segment(call.func.value)] + [src.segment(a) for a in call.args]
    args += [
        f"{k.arg}={src.segment(k.value)}" if k.arg else f"**{src.segment(k.value)}"
        for k in call.keywords
    ]
    return f"{helper}({', '.join(args)})"


#: Appended to every lazy mutant: what an attendee who skips the work returns.
LAZY_HELPERS = '''

def _lazy_map(value, leaf, container=None):
    import dataclasses

    if container is not None and isinstance(value, (list, dict)):
        return container(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*[_lazy_map(v, leaf, container) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_lazy_map(v, leaf, container) for v in value)
    if isinstance(value, dict):
        return {k: _lazy_map(v, leaf, container) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [f.name for f in dataclasses.fields(value) if f.init]
        return dataclasses.replace(
            value, **{n: _lazy_map(getattr(value, n), leaf, container) for n in fields}
        )
    return leaf(value)


def _lazy_empty(value):
    import numpy as np

    def leaf(v):
        if isinstance(v, np.ndarray) or (isinstance(v, (int, float)) and not isinstance(v, bool)):
            return np.array([], dtype=getattr(v, "dtype", float))
        return "" if isinstance(v, str) else v

    return _lazy_map(value, leaf, container=lambda v: type(v)())


def _lazy_zeros(value):
    import numpy as np

    def leaf(v):
        if isinstance(v, (bool, np.bool_)):
            return False
        if isinstance(v, np.ndarray):
            return np.zeros_like(v)
        if isinstance(v, (int, float, np.integer, np.floating)):
            return type(v)(0)
        return "" if isinstance(v, str) else v

    return _lazy_map(value, leaf)


def _lazy_constant(value):
    import numpy as np

    def leaf(v):
        if isinstance(v, (bool, np.bool_)):
            return True
        if isinstance(v, np.ndarray) and v.dtype.kind in "iu":
            return np.ones_like(v)
        if isinstance(v, np.ndarray) and v.dtype.kind == "f":
            inside = v.size and np.nanmin(v) >= 0 and np.nanmax(v) <= 1
            return np.full_like(v, 0.9 if inside else 1.0)
        if isinstance(v, (int, np.integer)):
            return type(v)(1)
        if isinstance(v, (float, np.floating)):
            return type(v)(0.9 if 0 <= v <= 1 else 1.0)
        return "a" if isinstance(v, str) else v

    return _lazy_map(value, leaf)


def _lazy_fit(model, *args, **kwargs):
    """What `fit` returns, without training: a History with made-up, improving numbers."""
    import keras

    epochs = int(kwargs.get("epochs", 1) or 1)
    first = int(kwargs.get("initial_epoch", 0) or 0)
    names = ["loss"]
    try:
        metrics = (model.get_compile_config() or {}).get("metrics") or []
    except Exception:
        metrics = []
    for m in metrics if isinstance(metrics, (list, tuple)) else [metrics]:
        name = m if isinstance(m, str) else (m.get("config", {}).get("name") if isinstance(m, dict) else None)
        if name:
            names.append("accuracy" if name in ("acc", "accuracy") else name)
    if kwargs.get("validation_data") is not None or kwargs.get("validation_split"):
        names += [f"val_{n}" for n in names]
    history = keras.callbacks.History()
    history.set_model(model)
    history.epoch = list(range(first, epochs))
    history.params = {"epochs": epochs, "verbose": kwargs.get("verbose", 1), "steps": None}
    history.history = {
        n: [
            (0.5 + 0.4 * (e + 1) / epochs) if "loss" not in n else 1.0 / (e + 1)
            for e in range(first, epochs)
        ]
        for n in names
    }
    return history
'''


def mutants_of(module: Module, root: Path = ROOT) -> list[Mutant]:
    """Every mutant of the module's solution blocks, lazy ones first, in a stable order."""
    text = module.solution_path(root).read_text(encoding="utf-8")
    tree = ast.parse(text)
    src = _Source(text)
    branches = _backend_branches(tree)
    found: dict[str, Mutant] = {}
    for block in solution_blocks(text, module.id):
        lazy = [(op, edits, True) for op, edits in _lazy(tree, block, src)]
        standard = []
        for node, parent in _block_nodes(tree, block):
            standard += [(op, edits, False) for op, edits in _standard(node, parent, src)]
        for operator, edits, is_lazy in lazy + standard:
            mutant = _make(module, block, src, operator, edits, is_lazy, branches)
            if mutant is not None and mutant.id not in found:
                found[mutant.id] = mutant
    return list(found.values())


def _backend_test(node: ast.AST) -> str | None:
    """ "jax" for `keras.backend.backend() == "jax"` (any spelling of the call), else None."""
    if not (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.Eq)
        and isinstance(node.left, ast.Call)
        and _expr(node.left.func).endswith("backend")
    ):
        return None
    right = node.comparators[0]
    return right.value if isinstance(right, ast.Constant) and isinstance(right.value, str) else None


def _backend_branches(tree: ast.AST) -> list[tuple[int, int, frozenset[str]]]:
    """(first line, last line, the backends it runs on) of each branch of an if/elif chain
    on `keras.backend.backend() == NAME`; the tests belong to the branch they choose."""
    from workshop.backend import NAMES

    branches = []
    chained = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.If) or id(node) in chained:
            continue
        named: list[str] = []
        current: ast.AST | None = node
        while isinstance(current, ast.If) and (name := _backend_test(current.test)):
            named.append(name)
            first = current.test.lineno
            last = max(n.end_lineno for n in current.body)
            branches.append((first, last, frozenset({name})))
            chained.add(id(current))
            orelse = current.orelse
            current = orelse[0] if len(orelse) == 1 and isinstance(orelse[0], ast.If) else None
            if current is None or not _backend_test(current.test):
                if orelse:  # the final else: every backend not named above
                    rest = frozenset(NAMES) - set(named)
                    branches.append((orelse[0].lineno, orelse[-1].end_lineno, rest))
                break
    return branches


def _make(module, block, src, operator, edits, lazy, branches=()) -> Mutant | None:
    new = src.replace(edits)
    if new == src.text:
        return None
    if lazy:
        new = new.rstrip("\n") + "\n" + LAZY_HELPERS
    try:
        compile(new, module.id, "exec", dont_inherit=True)
    except SyntaxError:
        return None  # e.g. `pass` where an expression's value was needed
    first = min(n.lineno for n, _ in edits)
    last = max(n.end_lineno for n, _ in edits)
    new_lines = new.splitlines()
    extra = len(new_lines) - len(src.lines) - (LAZY_HELPERS.count("\n") if lazy else 0)
    before = " / ".join(ln.strip() for ln in src.lines[first - 1 : last])
    after = " / ".join(ln.strip() for ln in new_lines[first - 1 : last + extra])
    bound = [names for lo, hi, names in branches if lo <= first and last <= hi]
    backends = frozenset.intersection(*bound) if bound else None
    return Mutant(module.id, block.todo, operator, lazy, first, before, after, new, backends)


def sample(
    mutants: list[Mutant], n: int | None, seed: int = 0, every_lazy: bool = False
) -> list[Mutant]:
    """At most `n` mutants, lazy ones first, the rest spread over operators (seeded).

    every_lazy: every lazy mutant, and `n` of the others.
    """
    if every_lazy and n is not None:
        lazy = [m for m in mutants if m.lazy]
        return lazy + sample([m for m in mutants if not m.lazy], n, seed)
    if n is None or len(mutants) <= n:
        return mutants
    rng = random.Random(seed)
    lazy = [m for m in mutants if m.lazy]
    rng.shuffle(lazy)
    others = [m for m in mutants if not m.lazy]
    rng.shuffle(others)
    by_op: dict[str, list[Mutant]] = {}
    for m in others:
        by_op.setdefault(m.operator, []).append(m)
    spread = []
    while any(by_op.values()):  # one of each operator in turn
        for op in sorted(by_op):
            if by_op[op]:
                spread.append(by_op[op].pop())
    lazy_share = min(len(lazy), max(1, n // 3))
    chosen = lazy[:lazy_share] + spread[: n - lazy_share]
    return chosen + lazy[lazy_share : max(0, n - len(chosen)) + lazy_share]


# --------------------------------------------------------------------------- equivalents


def equivalents(root: Path = ROOT) -> dict[tuple[str, str], str]:
    """{(module, mutant id): reason} from the reviewed file of equivalent mutants."""
    path = root / EQUIVALENTS
    if not path.exists():
        return {}
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    table = {}
    for i, entry in enumerate(raw.get("equivalent", [])):
        if not {"module", "mutant", "reason"} <= set(entry) or not str(entry["reason"]).strip():
            raise ValueError(f"{EQUIVALENTS}: entry #{i} needs module, mutant and a reason")
        table[(entry["module"], entry["mutant"])] = entry["reason"]
    return table


# --------------------------------------------------------------------------- grading them


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # the runner's class ("passed" = survived)
    message: str
    seconds: float
    equivalent: str | None = None  # the reason, when listed as equivalent

    @property
    def killed(self) -> bool:
        return self.status != "passed"


@dataclass
class LessonScore:
    module: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    generated: int = 0
    backend: str = ""
    elsewhere: int = 0  # mutants of another backend's branch: scored under that backend

    def _count(self, lazy: bool) -> tuple[int, int]:
        mine = [o for o in self.outcomes if o.mutant.lazy == lazy and o.equivalent is None]
        return sum(o.killed for o in mine), len(mine)

    @property
    def lazy(self) -> tuple[int, int]:
        return self._count(True)

    @property
    def other(self) -> tuple[int, int]:
        return self._count(False)

    @property
    def survivors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.killed and o.equivalent is None]

    @property
    def meets_goal(self) -> bool:
        (lk, lt), (ok, ot) = self.lazy, self.other
        return (lt == 0 or lk / lt >= LAZY_GOAL) and (ot == 0 or ok / ot >= OTHER_GOAL)

    def to_dict(self) -> dict:
        (lk, lt), (ok, ot) = self.lazy, self.other
        return {
            "generated": self.generated,
            "graded": len(self.outcomes),
            "lazy_killed": lk,
            "lazy_total": lt,
            "other_killed": ok,
            "other_total": ot,
            "equivalent": sum(o.equivalent is not None for o in self.outcomes),
            "backend": self.backend,
            "other_backends": self.elsewhere,
            "seconds": round(self.seconds, 1),
            "meets_goal": self.meets_goal,
            "survivors": [o.mutant.id for o in self.survivors],
        }


def _grade(module: Module, mutant: Mutant, root: Path, timeout: float) -> tuple[str, str]:
    from workshop.grading.runner import run_checks

    todo = next((t for t in module.todos if t.name == mutant.todo), None)
    siblings = {
        u: (root / "solutions" / f"{u}.py").read_text(encoding="utf-8") for u in module.uses
    }
    with tempfile.TemporaryDirectory(prefix="workshop-mutant-") as tmp:
        path = Path(tmp) / f"{module.id}.py"
        path.write_text(mutant.source, encoding="utf-8")
        selections = []
        if todo is not None and "*" not in todo.checks:
            selections.append(["-k", " or ".join(sorted(set(todo.checks)))])
        selections.append([])  # then every check, for what the TODO's own missed
        result = None
        for extra in selections:
            result = run_checks(
                module,
                tmp,
                root,
                timeout=timeout,
                extra_args=["-x", *extra],
                source=path,
                display=f"solutions/{module.id}.py (mutant)",
                siblings=siblings,
            )
            if result.total and result.status != "passed":
                break
    if not result.total:  # no check ran at all: nothing was proven
        return "passed", f"no check ran: {result.message}"
    return result.status, result.message


def run(
    modules: list[Module],
    root: Path = ROOT,
    limit: int | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress=None,
    todo: str | None = None,
    measure: bool = True,
    every_lazy: bool = False,
) -> list[LessonScore]:
    """Grade the (sampled) mutants of each module; one LessonScore per module.

    `measure` grades the solution first (it must pass) to time-limit the mutants.
    """
    from workshop import backend
    from workshop.grading.runner import run_checks

    known = equivalents(root)
    here = backend.name()
    scores = []
    for module in modules:
        start = time.perf_counter()
        every = [m for m in mutants_of(module, root) if todo is None or m.todo == todo]
        mine = [m for m in every if m.backends is None or here in m.backends]
        chosen = sample(mine, limit, seed, every_lazy)
        score = LessonScore(
            module.id, generated=len(every), backend=here, elsewhere=len(every) - len(mine)
        )
        timeout = module.timeout
        if measure:  # a mutant that loops is stopped at 3x the solution's time, not the module's
            baseline = run_checks(module, "solutions", root)
            if baseline.status != "passed":
                raise RuntimeError(f"{module.id}'s solution does not pass: {baseline.message}")
            timeout = min(module.timeout, max(30.0, 3 * baseline.duration + 15))

        def grade(m: Mutant, module=module, timeout=timeout) -> Outcome:
            t0 = time.perf_counter()
            status, message = _grade(module, m, root, timeout)
            return Outcome(
                m, status, message, time.perf_counter() - t0, known.get((m.module, m.id))
            )

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for outcome in pool.map(grade, chosen):
                score.outcomes.append(outcome)
                if progress:
                    progress(outcome)
        score.seconds = time.perf_counter() - start
        scores.append(score)
    return scores


# --------------------------------------------------------------------------- the report


def table(scores: list[LessonScore]) -> str:
    """The scores as a Markdown table (README, bench)."""
    rows = [
        "| lesson | backend | mutants (graded/generated) | lazy killed | others killed "
        "| equivalent | another backend's | time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        d = s.to_dict()
        lazy = f"{d['lazy_killed']}/{d['lazy_total']}"
        other = f"{d['other_killed']}/{d['other_total']}"
        if d["other_total"]:
            other += f" ({100 * d['other_killed'] / d['other_total']:.0f} %)"
        rows.append(
            f"| {s.module} | {s.backend} | {d['graded']}/{d['generated']} | {lazy} | {other} | "
            f"{d['equivalent']} | {d['other_backends']} | {d['seconds']:.0f} s |"
        )
    return "\n".join(rows)


def report(scores: list[LessonScore], root: Path = ROOT) -> str:
    """What `workshop verify --mutants` prints after the table: every survivor's diff."""
    parts = []
    for s in scores:
        original = (root / "solutions" / f"{s.module}.py").read_text(encoding="utf-8")
        for o in s.survivors:
            kind = "LAZY " if o.mutant.lazy else ""
            parts.append(f"{s.module}: {kind}survivor {o.mutant.key} ({o.mutant.id[:160]})")
            parts.append(o.mutant.diff(original).rstrip())
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """python -m workshop.grading.mutants MODULE... [--limit N] [--seed K] [-j J]"""
    import argparse

    from workshop.catalog import find_module

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("modules", nargs="+")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--todo", default=None, help="only the mutants of this TODO")
    args = parser.parse_args(argv)
    modules = [find_module(m) for m in args.modules]

    def show(o: Outcome) -> None:
        word = "killed  " if o.killed else ("equiv.  " if o.equivalent else "SURVIVED")
        lazy = "lazy " if o.mutant.lazy else ""
        print(f"{word} {o.seconds:5.1f} s {o.status:13} {lazy}{o.mutant.id[:140]}", flush=True)

    scores = run(
        modules, limit=args.limit, seed=args.seed, jobs=args.jobs, progress=show, todo=args.todo
    )
    print(table(scores))
    print(report(scores))
    return 0 if all(s.meets_goal for s in scores) else 1


if __name__ == "__main__":
    raise SystemExit(main())
