"""A small typed expression tree: how the model's rules are written once and compiled
to every engine.

The model's per-customer rules (an expectation prorated for a young customer, the
weighted mean of the factor scores, coverage and the status) are written as
:class:`Expr` trees of numbers, named inputs (:func:`ref`), arithmetic, comparisons,
``is_null()`` and :func:`when`. Each engine compiles a tree to its own form: Python
code for the object path (:func:`to_python`), narwhals expressions for frames and
Spark, SQLAlchemy for SQL. Null behaves as in SQL: arithmetic and comparisons with a
null are null, and a null condition is not met.

Like Ibis' and SQLGlot's trees, a tree is a value: frozen dataclasses built with
Python's operators (``a + b``, ``a >= 1.0``, ``cond & other``), compared by structure.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "Binary",
    "Expr",
    "IsNull",
    "Lit",
    "Not",
    "Ref",
    "When",
    "lit",
    "ref",
    "to_python",
    "when",
]

Scalar = float | str | bool | None
Operator = Literal["+", "-", "*", "/", ">", ">=", "<", "<=", "==", "&", "|"]
ARITHMETIC: Final = ("+", "-", "*", "/")
COMPARISONS: Final = (">", ">=", "<", "<=", "==")
OPERATIONS: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "&": operator.and_,
    "|": operator.or_,
}
"""Each operator as Python's operators apply it: the compilers to expression libraries
that overload them (narwhals, SQLAlchemy) apply these to the compiled operands, but
where their meaning differs from the model's (division in polars, order in SQL)."""


class Expr:
    """A node of the tree. Build with :func:`lit`, :func:`ref`, :func:`when`,
    ``is_null()`` and the operators; compile with an engine's compiler."""

    __slots__ = ()

    def __add__(self, other: Expr | float) -> Expr:
        return Binary("+", self, _expr(other))

    def __radd__(self, other: float) -> Expr:
        return Binary("+", _expr(other), self)

    def __sub__(self, other: Expr | float) -> Expr:
        return Binary("-", self, _expr(other))

    def __rsub__(self, other: float) -> Expr:
        return Binary("-", _expr(other), self)

    def __mul__(self, other: Expr | float) -> Expr:
        return Binary("*", self, _expr(other))

    def __rmul__(self, other: float) -> Expr:
        return Binary("*", _expr(other), self)

    def __truediv__(self, other: Expr | float) -> Expr:
        return Binary("/", self, _expr(other))

    def __rtruediv__(self, other: float) -> Expr:
        return Binary("/", _expr(other), self)

    def __gt__(self, other: Expr | float) -> Expr:
        return Binary(">", self, _expr(other))

    def __ge__(self, other: Expr | float) -> Expr:
        return Binary(">=", self, _expr(other))

    def __lt__(self, other: Expr | float) -> Expr:
        return Binary("<", self, _expr(other))

    def __le__(self, other: Expr | float) -> Expr:
        return Binary("<=", self, _expr(other))

    def __and__(self, other: Expr) -> Expr:
        return Binary("&", self, other)

    def __or__(self, other: Expr) -> Expr:
        return Binary("|", self, other)

    def __invert__(self) -> Expr:
        return Not(self)

    def is_null(self) -> Expr:
        return IsNull(self)

    def is_not_null(self) -> Expr:
        return Not(IsNull(self))

    @property
    def nullable(self) -> bool:
        """Whether the value may be null."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, eq=False)
class Lit(Expr):
    """A constant: a float, a text, a boolean or null."""

    value: Scalar

    @property
    def nullable(self) -> bool:
        return self.value is None


@dataclass(frozen=True, slots=True, eq=False)
class Ref(Expr):
    """A named input (a column, or a value the engine supplies): it may be null, as far
    as the tree knows (:func:`to_python` is told which inputs never are)."""

    name: str

    @property
    def nullable(self) -> bool:
        return True


@dataclass(frozen=True, slots=True, eq=False)
class Binary(Expr):
    """Arithmetic (``+ - * /``), a comparison, or ``&``/``|`` of two conditions."""

    op: Operator
    left: Expr
    right: Expr

    @property
    def nullable(self) -> bool:
        return self.left.nullable or self.right.nullable


@dataclass(frozen=True, slots=True, eq=False)
class IsNull(Expr):
    """Whether the operand is null (never null itself)."""

    operand: Expr

    @property
    def nullable(self) -> bool:
        return False


@dataclass(frozen=True, slots=True, eq=False)
class Not(Expr):
    """The negation of a condition that is never null."""

    operand: Expr

    def __post_init__(self) -> None:
        if self.operand.nullable:
            raise ValueError("~ needs a condition that is never null; test is_null first")

    @property
    def nullable(self) -> bool:
        return False


@dataclass(frozen=True, slots=True, eq=False)
class When(Expr):
    """The value of the first case whose condition is met (a null condition is not),
    else ``otherwise`` (null if left out)."""

    cases: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr

    @property
    def nullable(self) -> bool:
        return any(value.nullable for _, value in self.cases) or self.otherwise.nullable


def lit(value: Scalar) -> Lit:
    """A constant (ints are read as floats: the model's numbers are doubles)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return Lit(value)


def ref(name: str) -> Ref:
    """The input ``name``."""
    return Ref(name)


def when(*cases: tuple[Expr, Expr | Scalar], otherwise: Expr | Scalar = None) -> When:
    """``when((condition, value), ..., otherwise=value)``: the first met case's value."""
    if not cases:
        raise ValueError("when() needs at least one (condition, value) case")
    return When(tuple((c, _expr(v)) for c, v in cases), _expr(otherwise))


def _expr(value: Expr | Scalar) -> Expr:
    return value if isinstance(value, Expr) else lit(value)


def visit(expr: Expr, compile_node: Callable[[Expr, Sequence[Any]], Any]) -> Any:
    """Compile ``expr`` bottom-up: ``compile_node(node, compiled children)``, the children
    of a :class:`When` in the order condition, value, ..., otherwise."""
    match expr:
        case Binary(_, left, right):
            children = [visit(left, compile_node), visit(right, compile_node)]
        case IsNull(operand) | Not(operand):
            children = [visit(operand, compile_node)]
        case When(cases, otherwise):
            children = [visit(e, compile_node) for case in cases for e in case]
            children.append(visit(otherwise, compile_node))
        case _:
            children = []
    return compile_node(expr, children)


# -- Python -----------------------------------------------------------------------------------


def to_python(
    outputs: Sequence[Mapping[str, Expr]],
    inputs: Sequence[str],
    never_null: Iterable[str] = (),
) -> Callable[..., tuple[Any, ...]]:
    """A Python function of ``inputs`` (positional; those in ``never_null`` are never
    None) returning the ``outputs`` as a tuple, in order: stages of named expressions,
    each reading the inputs and the names of the stages before it.

    The function is generated source, straight-line code as one would write it by hand
    (its ``__doc__`` is the source): a value is tested for None only where it may be
    None, knowing what a case's condition implies (``x is not None``, ``x > 0``)."""
    compiler = _Python(set(inputs) - set(never_null))
    for name in inputs:
        compiler.local(name)
    lines = [f"def compiled({', '.join(compiler.local(name) for name in inputs)}):"]
    names = []
    for stage in outputs:
        for name, expr in stage.items():
            code = compiler.code(expr, frozenset())
            lines.append(f"    {compiler.local(name)} = {code}  # {name!r}")
            if compiler.nullable(expr, frozenset()):
                compiler.nullable_names.add(name)
            names.append(name)
    lines.append("    return (" + "".join(f"{compiler.local(name)}, " for name in names) + ")")
    namespace: dict[str, Any] = dict(compiler.constants)
    exec(compile("\n".join(lines) + "\n", "<customer_health model>", "exec"), namespace)
    function: Callable[..., tuple[Any, ...]] = namespace["compiled"]
    function.__doc__ = "\n".join(lines)
    return function


def _implied(condition: Expr) -> frozenset[str]:
    """The names a met ``condition`` shows are not null: a test that one is not null, a
    comparison of one (with null it is not met), and those of both sides of ``&``."""
    match condition:
        case Not(IsNull(Ref(name))):
            return frozenset([name])
        case Binary("&", left, right):
            return _implied(left) | _implied(right)
        case Binary(op, left, right) if op in COMPARISONS:
            return frozenset(e.name for e in (left, right) if isinstance(e, Ref))
    return frozenset()


class _Python:
    """Compiles expressions to Python source, with SQL's nulls (None)."""

    def __init__(self, nullable_names: set[str]) -> None:
        self.nullable_names = nullable_names
        self.constants: dict[str, float] = {}
        self._counter = itertools.count()
        self._locals: dict[str, str] = {}

    def local(self, name: str) -> str:
        """The Python name of ``name`` (an input or an output): ``v0``, ``v1``, ..."""
        if name not in self._locals:
            self._locals[name] = f"v{len(self._locals)}"
        return self._locals[name]

    def nullable(self, expr: Expr, known: frozenset[str]) -> bool:
        match expr:
            case Lit(value):
                return value is None
            case Ref(name):
                return name not in known and name in self.nullable_names
            case Binary("&", left, right):
                return self.nullable(left, known) or self.nullable(right, known | _implied(left))
            case Binary(_, left, right):
                return self.nullable(left, known) or self.nullable(right, known)
            case IsNull() | Not():
                return False
            case When(cases, otherwise):
                return any(
                    self.nullable(value, known | _implied(condition)) for condition, value in cases
                ) or self.nullable(otherwise, known)
        raise TypeError(f"not an expression node: {expr!r}")

    def code(self, expr: Expr, known: frozenset[str]) -> str:
        match expr:
            case Lit(value):
                if isinstance(value, float):  # a name: repr does not spell inf or nan
                    name = f"c{next(self._counter)}"
                    self.constants[name] = value
                    return name
                return repr(value)
            case Ref(name):
                if name not in self._locals:
                    raise ValueError(f"{name!r} is neither an input nor computed before")
                return self._locals[name]
            case Binary("&", left, right):
                return f"({self.code(left, known)} and {self.code(right, known | _implied(left))})"
            case Binary("|", left, right):
                return f"({self.code(left, known)} or {self.code(right, known)})"
            case Binary(op, left, right):
                sides = []
                checks = []
                for side in (left, right):
                    code = self.code(side, known)
                    if self.nullable(side, known):
                        temporary = f"t{next(self._counter)}"
                        checks.append(f"({temporary} := {code}) is None")
                        code = temporary
                    sides.append(code)
                operation = f"{sides[0]} {op} {sides[1]}"
                return (
                    f"(None if {' or '.join(checks)} else {operation})"
                    if checks
                    else f"({operation})"
                )
            case IsNull(operand):
                return f"({self.code(operand, known)} is None)"
            case Not(operand):
                return f"(not {self.code(operand, known)})"
            case When(cases, otherwise):
                code = self.code(otherwise, known)
                for condition, result in reversed(cases):
                    met = self.code(result, known | _implied(condition))
                    code = f"({met} if {self.code(condition, known)} else {code})"
                return code
        raise TypeError(f"not an expression node: {expr!r}")
