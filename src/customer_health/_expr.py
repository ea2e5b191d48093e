"""A small typed expression tree: how the model's rules and declared factors are written
once and compiled to every engine.

The model's per-customer rules (an expectation prorated for a young customer, the
weighted mean of the factor scores, coverage and the status) are written as
:class:`Expr` trees of numbers, named inputs (:func:`ref`), arithmetic, comparisons,
``is_null()`` and :func:`when`. Each engine compiles a tree to its own form: Python
code for the object path (:func:`to_python`), narwhals expressions for frames and
Spark, SQLAlchemy for SQL. Null behaves as in SQL: arithmetic and comparisons with a
null are null, and a null condition is not met.

Like Ibis' and SQLGlot's trees, a tree is a value: frozen dataclasses built with
Python's operators (``a + b``, ``a >= 1.0``, ``cond & other``), compared by structure.

Every node has a :data:`Type` (:func:`type_of` checks a tree and says what is wrong
with it): numbers (``float``; ``int`` for whole numbers that an engine adds exactly),
``text``, ``bool`` and ``instant`` (a point in time, exact to the microsecond).
Instants are only compared, or measured with :func:`days_between` and
:func:`utc_day` (:class:`Call`), so that no engine needs its own time arithmetic.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal

__all__ = [
    "Aggregate",
    "Binary",
    "Call",
    "Expr",
    "IsNull",
    "Lit",
    "Not",
    "Ref",
    "When",
    "count",
    "days_between",
    "lit",
    "microseconds_between",
    "number_property",
    "ref",
    "to_python",
    "type_of",
    "utc_day",
    "when",
]

Scalar = float | str | bool | None
Type = Literal["float", "int", "text", "bool", "instant", "null"]
"""What a node holds; ``null`` is the type of the null literal alone."""
Function = Literal["days_between", "microseconds_between", "utc_day", "number_property"]
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

    def __eq__(self, other: object) -> Expr:  # type: ignore[override]
        return Binary("==", self, _expr(other))  # type: ignore[arg-type]

    def __ne__(self, other: object) -> Expr:  # type: ignore[override]
        return Not(Binary("==", self, _expr(other)))  # type: ignore[arg-type]

    __hash__ = object.__hash__  # trees are built with ==, as in Ibis and narwhals

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

    def sum(self, where: Expr | None = None) -> Aggregate:
        """The sum over a customer's events (nulls skipped; 0 without any)."""
        return Aggregate("sum", self, where)

    def min(self, where: Expr | None = None) -> Aggregate:
        """The least value over a customer's events (nulls skipped; null without any)."""
        return Aggregate("min", self, where)

    def max(self, where: Expr | None = None) -> Aggregate:
        """The greatest value over a customer's events (nulls skipped; null without any)."""
        return Aggregate("max", self, where)

    def count_distinct(self, where: Expr | None = None) -> Aggregate:
        """How many different values a customer's events have (nulls not counted)."""
        return Aggregate("count_distinct", self, where)

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
    type: Type = "float"

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
    """The negation of a condition (null stays null, as in SQL)."""

    operand: Expr

    @property
    def nullable(self) -> bool:
        return self.operand.nullable


@dataclass(frozen=True, slots=True, eq=False)
class When(Expr):
    """The value of the first case whose condition is met (a null condition is not),
    else ``otherwise`` (null if left out)."""

    cases: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr

    @property
    def nullable(self) -> bool:
        return any(value.nullable for _, value in self.cases) or self.otherwise.nullable


@dataclass(frozen=True, slots=True, eq=False)
class Call(Expr):
    """A function of the vocabulary: :func:`days_between`, :func:`utc_day` or
    :func:`number_property` (whose one argument is the key, a text literal)."""

    function: Function
    args: tuple[Expr, ...]

    @property
    def nullable(self) -> bool:
        return self.function == "number_property" or any(a.nullable for a in self.args)


AggregateOp = Literal["count", "sum", "count_distinct", "min", "max"]


@dataclass(frozen=True, slots=True, eq=False)
class Aggregate:
    """An aggregate of an expression over a customer's events, of those events where
    ``where`` is met (a null condition is not): ``count`` (of events, ``of`` is None),
    ``sum``, ``count_distinct``, ``min`` or ``max``. Its value is a number: ``count``,
    ``sum`` and ``count_distinct`` are 0 without events, ``min`` and ``max`` null."""

    op: AggregateOp
    of: Expr | None
    where: Expr | None = None

    @property
    def nullable(self) -> bool:
        return self.op in ("min", "max")

    def check(self) -> None:
        """A :class:`TypeError` if the aggregate is not well typed."""
        if self.where is not None and type_of(self.where) not in ("bool", "null"):
            raise TypeError(f"{self.op}(where=...): {_shown(self.where)} is not a condition")
        if self.of is None:
            if self.op != "count":
                raise TypeError(f"{self.op} needs an expression to aggregate")
            return
        kind = type_of(self.of)
        if self.op in ("sum", "min", "max") and kind not in _NUMBERS:
            raise TypeError(f"{self.op} of {_shown(self.of)} needs numbers, not {kind}")
        if kind in ("bool", "null"):
            raise TypeError(f"{self.op} of {_shown(self.of)}: cannot aggregate {kind}")


def count(where: Expr | None = None) -> Aggregate:
    """How many of a customer's events meet ``where`` (all of them without it)."""
    return Aggregate("count", None, where)


def days_between(later: Expr, earlier: Expr) -> Call:
    """The time from ``earlier`` to ``later`` (instants) in days: the exact number of
    microseconds divided by 86,400,000,000 (negative if ``later`` is earlier)."""
    return Call("days_between", (later, earlier))


def microseconds_between(later: Expr, earlier: Expr) -> Call:
    """The time from ``earlier`` to ``later`` (instants) in whole microseconds: sums of
    it are exact on every engine (to divide once, at the end)."""
    return Call("microseconds_between", (later, earlier))


def utc_day(instant: Expr) -> Call:
    """The UTC calendar day of ``instant``, as a whole number: days since 1970-01-01."""
    return Call("utc_day", (instant,))


PROPERTY_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""The keys :func:`number_property` reads: names, as in ``properties["seats"]``."""
NUMBER: Final = "-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?"
"""JSON's number grammar (RFC 8259) as a regular expression to match a whole text, in
the syntax every engine's regular expressions share (no backslash, no ``(?:``)."""


def number_property(key: str) -> Call:
    """The event's ``properties[key]`` as a number, or null.

    A JSON number (not a boolean) is read as the double nearest to it; so is a text
    holding a JSON number and nothing else (``"12"``, ``"-0.5e3"``: numbers often
    arrive as text from spreadsheets and CSV files). Anything else is null: no
    ``properties`` (the built-in kinds have none), no such key, a null, a boolean,
    other text (``" 12"``, ``"12 seats"``, ``"NaN"``), a list or an object, and a
    number beyond the range of doubles. Every engine reads it so.
    """
    if not isinstance(key, str) or not PROPERTY_KEY.fullmatch(key):
        raise ValueError(
            f"number_property key {key!r} must be a name: letters, digits and _, "
            "not starting with a digit"
        )
    return Call("number_property", (Lit(key),))


def lit(value: Scalar, type: Literal["int"] | None = None) -> Lit:
    """A constant. Numbers are doubles (an int is read as a float), unless ``type`` is
    ``"int"``: a whole number, for arithmetic that stays exact in integers."""
    if type == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"lit({value!r}, 'int') needs a whole number")
        return Lit(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return Lit(value)


def ref(name: str, type: Type = "float") -> Ref:
    """The input ``name`` (of ``type``)."""
    return Ref(name, type)


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
        case Call("number_property"):
            children = []  # the key is read from the node
        case Call(_, args):
            children = [visit(a, compile_node) for a in args]
        case When(cases, otherwise):
            children = [visit(e, compile_node) for case in cases for e in case]
            children.append(visit(otherwise, compile_node))
        case _:
            children = []
    return compile_node(expr, children)


_NUMBERS: Final = frozenset({"float", "int"})
_SIGNATURES: Final[Mapping[str, tuple[tuple[Type, ...], Type]]] = {
    "days_between": (("instant", "instant"), "float"),
    "microseconds_between": (("instant", "instant"), "int"),
    "utc_day": (("instant",), "int"),
}


def type_of(expr: Expr) -> Type:
    """The type of ``expr``'s value; a :class:`TypeError` saying what does not fit
    (arithmetic of text, an instant compared with a number, ...) if it is not well typed.

    Arithmetic takes numbers (``int`` stays ``int`` through ``+ - *``; ``/`` gives a
    ``float``); a comparison takes two numbers, two instants or two texts (texts only
    ``==``); ``&``, ``|`` and ``~`` take conditions; the values of :func:`when` are of
    one type (numbers of either kind, or null)."""
    match expr:
        case Lit(value):
            if value is None:
                return "null"
            if isinstance(value, bool):
                return "bool"
            if isinstance(value, int):
                return "int"
            return "text" if isinstance(value, str) else "float"
        case Ref(_, type_):
            return type_
        case Binary(op, left, right):
            sides = (type_of(left), type_of(right))
            if op in ARITHMETIC:
                if not all(t in _NUMBERS or t == "null" for t in sides):
                    raise TypeError(
                        f"{_shown(expr)}: {op} needs numbers, not {' and '.join(sides)}"
                    )
                return "int" if sides == ("int", "int") and op != "/" else "float"
            if op in ("&", "|"):
                if not all(t in ("bool", "null") for t in sides):
                    raise TypeError(
                        f"{_shown(expr)}: {op} needs conditions, not {' and '.join(sides)}"
                    )
                return "bool"
            known = {("number" if t in _NUMBERS else t) for t in sides} - {"null"}
            if len(known) > 1 or known == {"bool"} or (known == {"text"} and op != "=="):
                raise TypeError(
                    f"{_shown(expr)}: cannot compare {' with '.join(sides)} with {op}"
                    + (" (texts only with ==)" if known == {"text"} else "")
                )
            return "bool"
        case IsNull(operand):
            type_of(operand)
            return "bool"
        case Not(operand):
            if type_of(operand) != "bool":
                raise TypeError(f"{_shown(expr)}: ~ needs a condition")
            return "bool"
        case When(cases, otherwise):
            for condition, _ in cases:
                if type_of(condition) not in ("bool", "null"):
                    raise TypeError(f"{_shown(condition)} is not a condition (in when)")
            types = {type_of(value) for _, value in cases} | {type_of(otherwise)}
            types.discard("null")
            if types <= _NUMBERS:
                return "float" if "float" in types else ("int" if types else "null")
            if len(types) > 1:
                raise TypeError(f"the values of when() are of different types: {sorted(types)}")
            return types.pop()
        case Call("number_property"):
            return "float"
        case Call(function, args):
            wanted, result = _SIGNATURES[function]
            given = tuple(type_of(a) for a in args)
            if len(given) != len(wanted) or any(
                g not in (w, "null") for g, w in zip(given, wanted, strict=False)
            ):
                raise TypeError(
                    f"{function}() takes {', '.join(wanted)}, not {', '.join(given) or 'nothing'}"
                )
            return result
    raise TypeError(f"not an expression node: {expr!r}")


def _shown(expr: Expr) -> str:
    """``expr`` as a reader would write it, for error messages."""
    match expr:
        case Lit(value):
            return repr(value)
        case Ref(name):
            return name
        case Binary(op, left, right):
            return f"({_shown(left)} {op} {_shown(right)})"
        case IsNull(operand):
            return f"{_shown(operand)}.is_null()"
        case Not(operand):
            return f"~{_shown(operand)}"
        case When():
            return "when(...)"
        case Call("number_property", (Lit(key),)):
            return f"number_property({key!r})"
        case Call(function, args):
            return f"{function}({', '.join(_shown(a) for a in args)})"
    return repr(expr)


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
    compiler = PythonCompiler(set(inputs) - set(never_null))
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
    namespace: dict[str, Any] = {**compiler.constants, **RUNTIME}
    exec(compile("\n".join(lines) + "\n", "<customer_health model>", "exec"), namespace)
    function: Callable[..., tuple[Any, ...]] = namespace["compiled"]
    function.__doc__ = "\n".join(lines)
    return function


def _number(properties: Mapping[str, Any] | None, key: str) -> float | None:
    """:func:`number_property` in Python: ``properties[key]`` as a number, or None."""
    if properties is None:
        return None
    value: Any = properties.get(key)
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return None
    if kind is str and _NUMBER_TEXT.fullmatch(value):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


_NUMBER_TEXT: Final = re.compile(NUMBER)

RUNTIME: Final[Mapping[str, Any]] = {
    "_US": timedelta(microseconds=1),
    "_DAY_US": 86_400_000_000,
    "_number": _number,
}
"""What the generated Python code calls, besides its constants."""


def structure(expr: Expr) -> tuple[Any, ...]:
    """``expr`` as nested tuples: two trees that compute alike have the same structure
    (the nodes compare by identity, and ``==`` builds a tree)."""
    match expr:
        case Lit(value):
            return ("lit", type(value).__name__, repr(value))
        case Ref(name, type_):
            return ("ref", name, type_)
        case Binary(op, left, right):
            return ("binary", op, structure(left), structure(right))
        case IsNull(operand):
            return ("is_null", structure(operand))
        case Not(operand):
            return ("not", structure(operand))
        case When(cases, otherwise):
            pairs = tuple((structure(c), structure(v)) for c, v in cases)
            return ("when", pairs, structure(otherwise))
        case Call(function, args):
            return ("call", function, tuple(structure(a) for a in args))
    raise TypeError(f"not an expression node: {expr!r}")


def implied_false(condition: Expr) -> frozenset[str]:
    """The names a condition that is not met shows are not null: those it tests for
    null, and those of both sides of ``|``."""
    match condition:
        case IsNull(Ref(name)):
            return frozenset([name])
        case Binary("|", left, right):
            return implied_false(left) | implied_false(right)
    return frozenset()


def implied(condition: Expr) -> frozenset[str]:
    """The names a met ``condition`` shows are not null: a test that one is not null, a
    comparison of one (with null it is not met), and those of both sides of ``&``."""
    match condition:
        case Not(IsNull(Ref(name))):
            return frozenset([name])
        case Binary("&", left, right):
            return implied(left) | implied(right)
        case Binary(op, left, right) if op in COMPARISONS:
            return frozenset(e.name for e in (left, right) if isinstance(e, Ref))
    return frozenset()


class PythonCompiler:
    """Compiles expressions to Python source, with SQL's nulls (None): to_python and the
    declared factors' accumulators use it."""

    def __init__(self, nullable_names: set[str]) -> None:
        self.nullable_names = nullable_names
        self.hoisted: dict[tuple[Any, ...], str] = {}
        """Locals that hold subtrees computed before (by :func:`structure`)."""
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
                return self.nullable(left, known) or self.nullable(right, known | implied(left))
            case Binary(_, left, right):
                return self.nullable(left, known) or self.nullable(right, known)
            case IsNull():
                return False
            case Not(operand):
                return self.nullable(operand, known)
            case Call("number_property"):
                return True
            case Call(_, args):
                return any(self.nullable(a, known) for a in args)
            case When(cases, otherwise):
                return any(
                    self.nullable(value, known | implied(condition)) for condition, value in cases
                ) or self.nullable(otherwise, known)
        raise TypeError(f"not an expression node: {expr!r}")

    def code(self, expr: Expr, known: frozenset[str]) -> str:
        if self.hoisted and not isinstance(expr, Ref | Lit):
            local = self.hoisted.get(structure(expr))
            if local is not None:
                return local
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
                first, then = self.code(left, known), self.code(right, known | implied(left))
                if not self.nullable(left, known):
                    return f"({first} and {then})"
                # SQL's AND: null and false is false (Python's gives None)
                t = f"t{next(self._counter)}"
                alone = self.code(right, known)
                return (
                    f"(False if ({t} := {first}) is False else "
                    f"({then} if {t} else (False if {alone} is False else None)))"
                )
            case Binary("|", left, right):
                # the right side runs when the left is not met (False, or None)
                first, then = self.code(left, known), self.code(right, known)
                if not self.nullable(left, known):
                    then = self.code(right, known | implied_false(left))
                if not self.nullable(left, known):
                    return f"({first} or {then})"
                # SQL's OR: null or false is null (Python's gives False)
                t = f"t{next(self._counter)}"
                return (
                    f"(True if ({t} := {first}) is True else "
                    f"({then} if {t} is False else (True if {then} is True else None)))"
                )
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
                code = self.code(operand, known)
                if self.nullable(operand, known):
                    temporary = f"t{next(self._counter)}"
                    return f"(None if ({temporary} := {code}) is None else not {temporary})"
                return f"(not {code})"
            case Call("number_property", (Lit(key),)):
                return f"_number({self.local('properties')}, {key!r})"
            case Call(function, args):
                operands = [self.code(a, known) for a in args]
                checks = []
                for at, arg in enumerate(args):
                    if self.nullable(arg, known):
                        temporary = f"t{next(self._counter)}"
                        checks.append(f"({temporary} := {operands[at]}) is None")
                        operands[at] = temporary
                if function == "days_between":
                    code = f"((({operands[0]} - {operands[1]}) // _US) / _DAY_US)"
                elif function == "microseconds_between":
                    code = f"(({operands[0]} - {operands[1]}) // _US)"
                else:  # utc_day: days since 1970-01-01 (the 719,163rd day of year 1)
                    code = f"({operands[0]}.toordinal() - 719163)"
                return f"(None if {' or '.join(checks)} else {code})" if checks else code
            case When(cases, otherwise):
                code = self.code(otherwise, known)
                for condition, result in reversed(cases):
                    met = self.code(result, known | implied(condition))
                    code = f"({met} if {self.code(condition, known)} else {code})"
                return code
        raise TypeError(f"not an expression node: {expr!r}")
