"""Declared factors: a factor written once, as data, that every engine compiles.

A :class:`DeclaredFactor` says what it measures instead of how to compute it:

- its **aggregates**, by name: a count, sum, count of distinct values, least or
  greatest value over its events (those of its :attr:`~customer_health.Factor.kinds`,
  in its window), each of an expression of the event's fields (:data:`event`), with an
  optional condition (``where=``);
- its **score** and **value**: expressions of those aggregates (:data:`inputs`) and of
  its expectation (:data:`expected`, prorated like every factor's); a null score means
  *no data*;
- its **explanation**: a template of the same numbers, or a function of them.

The object path compiles it into per-event accumulators (generated Python), the
frames and Spark into narwhals expressions, SQL into SQLAlchemy (the store and every
:func:`~customer_health.export_sql` dialect): one declaration, the same numbers on every
engine, at each engine's speed, with no code of the factor's own. For example, days
since the last login against the segment's expectation::

    from customer_health.declare import (
        DeclaredFactor, as_of, days_between, event, expected, inputs, when,
    )

    class LoginRecency(DeclaredFactor):
        name = "login_recency"
        kinds = frozenset({"login"})
        expectation = "login_recency_days"
        aggregates = {"since": days_between(as_of, event.occurred_at).min()}
        score = when(
            (inputs.since <= expected, 100.0),
            (inputs.since < 4 * expected, 100.0 * (4 * expected - inputs.since) / (3 * expected)),
            (inputs.since.is_not_null(), 0.0),
        )
        value = inputs.since
        explanation = "last login {since:days} ago; expected within {expected:days}"

**The vocabulary.** Expressions are typed: numbers, texts, conditions and instants.
:data:`event` reads the event fields (``event.quantity``, ``event.feature``,
``event.due_at``, ...; a field the event's kind does not have is null); :data:`as_of`
is the instant of scoring. Instants are compared with each other, measured with
:func:`days_between` (exact microseconds divided by 86,400,000,000),
:func:`microseconds_between` (whole microseconds, whose sums are exact) and
:func:`utc_day`; :func:`number_property` reads a number from a custom event's
``properties``. Arithmetic (``+ - * /``), comparisons, ``&``, ``|``, ``~``,
``is_null()`` and :func:`when` work as in SQL: an operation on a null is null, and a
null condition is not met. Whole numbers (``event.quantity``, counts, days) are added
exactly on every engine; sums of fractions are added in each engine's order, so they
may differ in the last bits (far below the model's 1e-9).
"""

from __future__ import annotations

import string
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final

from ._event_schema import EVENT_FIELDS, EventField, FieldType, fields_of_kind
from ._expr import RUNTIME as _RUNTIME
from ._expr import (
    Aggregate,
    Binary,
    Call,
    Expr,
    IsNull,
    Lit,
    Not,
    PythonCompiler,
    Ref,
    Type,
    When,
    count,
    days_between,
    implied,
    lit,
    microseconds_between,
    number_property,
    structure,
    to_python,
    type_of,
    utc_day,
    when,
)
from ._format import number
from .exceptions import ConfigurationError
from .factors import Accumulator, Factor, FactorContext, FactorResult

__all__ = [
    "Aggregate",
    "DeclaredFactor",
    "Expr",
    "as_of",
    "count",
    "days_between",
    "event",
    "expected",
    "inputs",
    "lit",
    "microseconds_between",
    "number_property",
    "tenure_days",
    "utc_day",
    "when",
]

_FIELD_TYPES: Final[Mapping[FieldType, Type]] = {
    "id": "text",
    "label": "text",
    "text": "text",
    "priority": "text",
    "instant": "instant",
    "integer": "int",
    "number": "float",
}
"""The expression type of each kind of event field (``json``: read through
:func:`number_property`)."""
_READABLE: Final[Mapping[str, EventField]] = {
    f.name: f
    for f in EVENT_FIELDS
    if f.type in _FIELD_TYPES and f.name not in ("event_id", "customer_id")
}
"""The fields a declaration reads: not ``event_id`` (for de-duplication alone), nor
``customer_id`` (a factor's inputs depend on the events, never on who the customer is)."""
AS_OF: Final = "as_of"
EXPECTED: Final = "expected"
TENURE: Final = "tenure_days"
PROPERTIES: Final = "properties"


class _Fields:
    """:data:`event`: the event's fields as expressions, ``event.<field>``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Ref:
        found = _READABLE.get(name)
        if found is None:
            raise AttributeError(
                f"events have no field {name!r} a declaration can read; fields: "
                f"{', '.join(_READABLE)} (and number_property() for properties)"
            )
        return Ref(name, _FIELD_TYPES[found.type])

    def __dir__(self) -> Iterable[str]:
        return list(_READABLE)


class _Inputs:
    """:data:`inputs`: the factor's aggregates by name, ``inputs.<name>``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Ref:
        if name.startswith("__"):
            raise AttributeError(name)
        return Ref(name)


event: Final = _Fields()
"""The fields of the event being aggregated: ``event.occurred_at``, ``event.quantity``,
``event.feature``, ... (the event schema's fields; a field its kind lacks is null)."""
as_of: Final = Ref(AS_OF, "instant")
"""The instant of scoring."""
inputs: Final = _Inputs()
"""The factor's aggregates, by name, in its score and value: ``inputs.calls``."""
expected: Final = Ref(EXPECTED)
"""The factor's expectation for the customer's segment (prorated for a young customer
when the factor sets ``prorate``); only for a factor with an ``expectation``."""
tenure_days: Final = Ref(TENURE)
"""The customer's age at ``as_of`` in days, ``(as_of - created_at)`` in exact
microseconds divided by 86,400,000,000 (as proration reads it); null when its creation
is unknown. In a score or value expression."""


class _Numbers(string.Formatter):
    """Formats an explanation: numbers as the library shows them, null as ``none``."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return "none"
        if format_spec == "days":  # a number of days with its unit: "1 day", "2.5 days"
            return f"{self.format_field(value, '')} day{'' if value == 1 else 's'}"
        if isinstance(value, float) and not format_spec:
            return number(value)
        shown: str = super().format_field(value, format_spec)
        return shown


_FORMATTER: Final = _Numbers()


class DeclaredFactor(Factor):
    """A factor declared as aggregates and expressions (see the module).

    Subclass it and set, besides the :class:`~customer_health.Factor` attributes
    (``name``, ``kinds``, ``window_days``, ``expectation``, ``prorate``,
    ``default_weight``, ``description``), :attr:`aggregates`, :attr:`score`,
    :attr:`value` and :attr:`explanation`. :attr:`~customer_health.Factor.inputs` are
    the aggregates' names. Every method an engine calls is compiled from these.
    """

    aggregates: ClassVar[Mapping[str, Aggregate]] = {}
    """The factor's inputs: aggregates over its events, by name."""
    score: ClassVar[Expr]
    """The score (0-100) from :data:`inputs` and :data:`expected`; null: no data."""
    value: ClassVar[Expr | None] = None
    """The value measured, shown beside the score (none if left out)."""
    expected_value: ClassVar[float | None] = None
    """What the value is compared with, shown beside it, for a factor without an
    :attr:`~customer_health.Factor.expectation` (``payment_timeliness``: 0 days late)."""
    explanation: ClassVar[str] = ""
    """The explanation, a template (``str.format``) of the numbers: the aggregates by
    name, ``score``, ``value``, ``expected`` (numbers, or None), ``segment``,
    ``window_days``, ``tenure_days`` (None if unknown) and ``prorated`` (whether
    ``expected`` was prorated). Numbers show as the library shows them (``{value:.1f}``
    as the format says; ``{since:days}`` with the unit, ``1 day`` or ``2.5 days``), None
    as ``none``. Override :meth:`explain` for more than a template."""
    no_data: ClassVar[str | None] = None
    """The template when the score is null (no data); :attr:`explanation` if left out."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        aggregates = cls.__dict__.get("aggregates")
        if isinstance(aggregates, Mapping):
            cls.inputs = tuple(aggregates)

    # -- the compiled forms -------------------------------------------------------------

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        add, inputs = _compiled(type(self)).accumulator(as_of, customer_ids)
        return Accumulator(add, inputs)

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        compiled = _compiled(type(self))
        score, value = compiled.score(
            *(inputs[name] for name in self.inputs), ctx.expected, ctx.tenure_days
        )
        shown = ctx.expected if self.expectation is not None else self.expected_value
        numbers = {
            **inputs,
            "score": score,
            "value": value,
            "expected": shown,
            "segment": ctx.segment,
            "window_days": self.window_days,
            "prorated": ctx.prorated,
            "tenure_days": ctx.tenure_days,
        }
        return FactorResult(
            score=score, explanation=self.explain(numbers), value=value, expected=shown
        )

    def explain(self, numbers: Mapping[str, Any]) -> str:
        """The explanation of one customer's numbers (see :attr:`explanation`): the
        :attr:`no_data` template without a score, if given, else :attr:`explanation`."""
        template = self.explanation
        if numbers["score"] is None and self.no_data is not None:
            template = self.no_data
        return _FORMATTER.vformat(template, (), numbers)

    # -- checks -------------------------------------------------------------------------

    @classmethod
    def check_definition(cls) -> None:
        where = f"declared factor {cls.name!r}"
        aggregates = cls.aggregates
        if not isinstance(aggregates, Mapping) or not aggregates:
            raise ConfigurationError(
                f"{where} has aggregates {aggregates!r}; it needs a mapping of names to "
                "aggregates (count(), event.quantity.sum(), ...)"
            )
        super().check_definition()
        for name, aggregate in aggregates.items():
            if not isinstance(name, str) or not name.isidentifier() or name in _RESERVED:
                raise ConfigurationError(
                    f"{where} has an aggregate named {name!r}; names are identifiers other "
                    f"than {', '.join(sorted(_RESERVED))}"
                )
            if not isinstance(aggregate, Aggregate):
                raise ConfigurationError(
                    f"{where}: aggregate {name!r} is {aggregate!r}, not an aggregate "
                    "(count(), expr.sum(), expr.min(), expr.max(), expr.count_distinct())"
                )
            _check_event_expressions(cls, name, aggregate)
        if getattr(cls, "score", None) is None:
            raise ConfigurationError(f"{where} has no score expression")
        for label in ("score", "value"):
            expr = getattr(cls, label)
            if expr is None and label == "value":
                continue
            if not isinstance(expr, Expr):
                raise ConfigurationError(f"{where} has {label} {expr!r}, not an expression")
            _check_factor_expression(cls, label, expr)
        explains = cls.explain is not DeclaredFactor.explain
        for label in ("explanation", "no_data"):
            template = getattr(cls, label)
            if template is None and label == "no_data":
                continue
            if not isinstance(template, str) or not (template.strip() or explains):
                raise ConfigurationError(
                    f"{where} has {label} {template!r}; it needs a template (or an "
                    "explain() method)"
                )
            _check_template(cls, label, template)
        _compiled(cls)


_RESERVED: Final = frozenset(
    {"score", "value", EXPECTED, "segment", "window_days", "prorated", "tenure_days", AS_OF}
)
"""Names an aggregate may not have: the explanation's other numbers, and ``as_of``."""


def _check_template(cls: type[DeclaredFactor], label: str, template: str) -> None:
    """A :class:`ConfigurationError` if ``template`` is no ``str.format`` template or
    names a number the explanation does not have."""
    known = {*cls.aggregates, *_RESERVED} - {AS_OF}
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(template) if field]
    except ValueError as exc:
        raise ConfigurationError(
            f"declared factor {cls.name!r} has {label} {template!r}: {exc}"
        ) from None
    for name in names:
        root = name.split(".", 1)[0].split("[", 1)[0]
        if root not in known:
            raise ConfigurationError(
                f"declared factor {cls.name!r} has {label} {template!r}, which names "
                f"{{{root}}}; it may name {', '.join(sorted(known))}"
            )


def _check_event_expressions(cls: type[DeclaredFactor], name: str, aggregate: Aggregate) -> None:
    where = f"declared factor {cls.name!r}, aggregate {name!r}"
    try:
        aggregate.check()
    except TypeError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    for expr in (aggregate.of, aggregate.where):
        if expr is None:
            continue
        for ref in _refs(expr):
            if ref.name == AS_OF and ref.type == "instant":
                continue
            known = _READABLE.get(ref.name)
            if known is None or _FIELD_TYPES[known.type] != ref.type:
                raise ConfigurationError(
                    f"{where} reads {ref.name!r}, which is not an event field (event.<field>) "
                    "or as_of; inputs and expected belong in the score"
                )


def _check_factor_expression(cls: type[DeclaredFactor], label: str, expr: Expr) -> None:
    where = f"declared factor {cls.name!r}, {label}"
    try:
        kind = type_of(expr)
    except TypeError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    if kind not in ("float", "int", "null"):
        raise ConfigurationError(f"{where} is {kind}; it must be a number")
    for node in _nodes(expr):
        if isinstance(node, Call):
            raise ConfigurationError(
                f"{where} calls {node.function}(), which reads events: use it in an aggregate"
            )
    for ref in _refs(expr):
        if ref.name == EXPECTED and ref.type == "float":
            if cls.expectation is None:
                raise ConfigurationError(
                    f"{where} reads expected, but the factor has no expectation"
                )
            continue
        if ref.name == TENURE and ref.type == "float":
            continue
        if ref.type != "float" or ref.name not in cls.aggregates:
            raise ConfigurationError(
                f"{where} reads {ref.name!r}, which is not one of its aggregates "
                f"({', '.join(cls.aggregates)}), expected or tenure_days"
            )


def reads_tenure(declared: DeclaredFactor | type[DeclaredFactor]) -> bool:
    """Whether the score or value of ``declared`` reads :data:`tenure_days` (an engine
    then carries the customer's age beside the inputs)."""
    exprs = [declared.score] + ([] if declared.value is None else [declared.value])
    return any(ref.name == TENURE for expr in exprs for ref in _refs(expr))


def _nodes(expr: Expr) -> Iterable[Expr]:
    """``expr`` and every node below it."""
    yield expr
    for child in _children(expr):
        yield from _nodes(child)


def _refs(expr: Expr) -> list[Ref]:
    return [node for node in _nodes(expr) if isinstance(node, Ref)]


def event_fields(declared: DeclaredFactor | type[DeclaredFactor]) -> tuple[str, ...]:
    """The event fields the factor's aggregates read, in the schema's order."""
    names = {
        ref.name
        for aggregate in declared.aggregates.values()
        for expr in (aggregate.of, aggregate.where)
        if expr is not None
        for ref in _refs(expr)
        if ref.name != AS_OF
    }
    return tuple(name for name in _READABLE if name in names)


def properties_read(declared: DeclaredFactor | type[DeclaredFactor]) -> tuple[str, ...]:
    """The keys of ``properties`` the factor reads with :func:`number_property`."""
    keys = {
        node.args[0].value  # type: ignore[attr-defined]  # a Lit: number_property's key
        for aggregate in declared.aggregates.values()
        for expr in (aggregate.of, aggregate.where)
        if expr is not None
        for node in _nodes(expr)
        if isinstance(node, Call) and node.function == "number_property"
    }
    return tuple(sorted(str(key) for key in keys))


def _shared(aggregates: Iterable[Aggregate]) -> list[Expr]:
    """The operations to compute once, before the aggregates: the largest that occur
    more than once (alike by :func:`~customer_health._expr.structure`), then within
    them, smallest first (so that each reads those it contains); never a division."""
    roots = [e for a in aggregates for e in (a.where, a.of) if e is not None]
    candidates: dict[tuple[Any, ...], Expr] = {}
    for root in roots:
        for node in _nodes(root):
            if not isinstance(node, Ref | Lit) and not any(
                isinstance(n, Binary) and n.op == "/" for n in _nodes(node)
            ):
                candidates.setdefault(structure(node), node)
    size = {key: sum(1 for _ in _nodes(node)) for key, node in candidates.items()}
    hoisted: dict[tuple[Any, ...], Expr] = {}
    for key in sorted(candidates, key=lambda k: -size[k]):
        found = sum(_occurrences(root, key, hoisted, False) for root in roots) + sum(
            _occurrences(root, key, hoisted, True) for root in hoisted.values()
        )
        if found > 1:
            hoisted[key] = candidates[key]
    return sorted(hoisted.values(), key=lambda node: size[structure(node)])


def _occurrences(
    root: Expr, key: tuple[Any, ...], opaque: Mapping[tuple[Any, ...], Expr], inside: bool
) -> int:
    """How often the subtree ``key`` is computed in ``root``, the subtrees in ``opaque``
    (computed once, before) not looked into; ``inside``: ``root`` is one of them, whose
    own computation counts."""
    found = 0
    pending = [(root, inside)]
    while pending:
        node, top = pending.pop()
        here = structure(node)
        if here == key:
            found += 1
            continue
        if not top and here in opaque:
            continue
        pending.extend((child, False) for child in _children(node))
    return found


def _children(expr: Expr) -> list[Expr]:
    match expr:
        case Binary(_, left, right):
            return [left, right]
        case IsNull(operand) | Not(operand):
            return [operand]
        case When(cases, otherwise):
            return [e for case in cases for e in case] + [otherwise]
        case Call(_, args):
            return list(args)
    return []


def _carried(kinds: Iterable[str] | None) -> frozenset[str]:
    """The fields every event of ``kinds`` carries (None: any kind)."""
    kinds = None if kinds is None else list(kinds)
    if not kinds:
        return frozenset(f.name for f in EVENT_FIELDS if f.kinds is None)
    return frozenset(set.intersection(*({f.name for f in fields_of_kind(k)} for k in kinds)))


def never_null_fields(kinds: Iterable[str] | None) -> frozenset[str]:
    """The event fields that are never null on events of ``kinds`` (None: any kind)."""
    always = {"customer_id", "kind", "occurred_at"}
    if kinds is None:
        return frozenset(always)
    kinds = list(kinds)
    if not kinds:
        return frozenset(always)
    given = [
        {f.name for f in fields_of_kind(kind) if f.required or f.default is not None}
        for kind in kinds
    ]
    return frozenset(always | set.intersection(*given))


# -- Python: per-event accumulators -------------------------------------------------------


class _Compiled:
    """A declaration compiled to Python: the accumulator's factory and the score."""

    def __init__(self, cls: type[DeclaredFactor]) -> None:
        self.accumulator = _accumulator(cls)
        never_null = [n for n, a in cls.aggregates.items() if not a.nullable]
        names = [*cls.aggregates, EXPECTED, TENURE]
        value = cls.value if cls.value is not None else lit(None)
        self.score: Callable[..., tuple[Any, ...]] = to_python(
            [{"score": cls.score, "value": value}], names, never_null=never_null
        )


_COMPILED: weakref.WeakKeyDictionary[type[DeclaredFactor], _Compiled] = weakref.WeakKeyDictionary()


def _compiled(cls: type[DeclaredFactor]) -> _Compiled:
    """The declaration of ``cls`` compiled to Python (once per class)."""
    found = _COMPILED.get(cls)
    if found is None:
        found = _COMPILED[cls] = _Compiled(cls)
    return found


def _accumulator(
    cls: type[DeclaredFactor],
) -> Callable[[datetime, Iterable[str]], tuple[Callable[[Any], None], Callable[[], Any]]]:
    """The factory of the factor's accumulators, as generated Python: one function that
    reads each field of an event once and updates every aggregate of its customer."""
    fields = event_fields(cls)
    never_null = never_null_fields(cls.kinds)
    nullable = {*fields, PROPERTIES} - never_null
    compiler = PythonCompiler(nullable)
    as_of_local = compiler.local(AS_OF)
    lines = [f"def make({as_of_local}, ids):"]
    body: list[str] = []
    carried = _carried(cls.kinds)
    reads = []
    for name in fields:
        local = compiler.local(name)
        if name in carried:
            reads.append(f"        {local} = event.{name}")
        else:
            reads.append(f"        {local} = getattr(event, {name!r}, None)")
    if properties_read(cls):
        read = "event.properties" if PROPERTIES in carried else "getattr(event, 'properties', None)"
        reads.append(f"        {compiler.local(PROPERTIES)} = {read}")
    # what several aggregates compute alike is computed once, first (never a division,
    # which could fail where a condition would have kept it from running)
    for at, shared in enumerate(_shared(cls.aggregates.values())):
        code = compiler.code(shared, frozenset())
        body.append(f"        s{at} = {code}")
        compiler.hoisted[structure(shared)] = f"s{at}"
    results = []
    condition: tuple[Any, ...] | None = None
    for at, (name, aggregate) in enumerate(cls.aggregates.items()):
        store = f"a{at}"
        if aggregate.op in ("count", "sum"):
            lines.append(f"    {store} = dict.fromkeys(ids, 0)")
        elif aggregate.op == "count_distinct":
            lines.append(f"    {store} = {{cid: set() for cid in ids}}")
        else:
            lines.append(f"    {store} = dict.fromkeys(ids)")
        where = aggregate.where
        same = where is not None and structure(where) == condition
        body.extend(_update(compiler, store, aggregate, same))
        condition = None if where is None else structure(where)
        if aggregate.op == "count_distinct":
            results.append(f"{name!r}: float(len({store}[cid]))")
        elif aggregate.nullable:
            results.append(f"{name!r}: (None if (m := {store}[cid]) is None else float(m))")
        else:
            results.append(f"{name!r}: float({store}[cid])")
    lines.append("    def add(event):")
    lines.append("        cid = event.customer_id")
    lines.extend(reads)
    lines.extend(body)
    lines.append("    def inputs():")
    lines.append(f"        return {{cid: {{{', '.join(results)}}} for cid in a0}}")
    lines.append("    return add, inputs")
    source = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = {**compiler.constants, **_RUNTIME}
    exec(compile(source, f"<declared factor {cls.name}>", "exec"), namespace)
    make: Any = namespace["make"]
    make.__doc__ = source
    return make  # type: ignore[no-any-return]


def _update(
    compiler: PythonCompiler, store: str, aggregate: Aggregate, same: bool
) -> Sequence[str]:
    """The lines of ``add`` that take one event into the aggregate ``store``; ``same``:
    under the condition of the aggregate before (its ``if`` is written already)."""
    condition = aggregate.where
    known: frozenset[str] = frozenset()
    indent = "        "
    lines = []
    if condition is not None:
        if not same:
            lines.append(f"{indent}if {compiler.code(condition, known)}:")
        indent += "    "
        known = implied(condition)
    of = aggregate.of
    if of is None:
        lines.append(f"{indent}{store}[cid] += 1")
        return lines
    value = compiler.code(of, known)
    if compiler.nullable(of, known):
        lines.append(f"{indent}if (x := {value}) is not None:")
        indent += "    "
        value = "x"
    elif aggregate.op != "sum":
        lines.append(f"{indent}x = {value}")
        value = "x"
    match aggregate.op:
        case "sum":
            lines.append(f"{indent}{store}[cid] += {value}")
        case "count_distinct":
            lines.append(f"{indent}{store}[cid].add({value})")
        case "min" | "max":
            better = "<" if aggregate.op == "min" else ">"
            lines.append(f"{indent}if (y := {store}[cid]) is None or x {better} y:")
            lines.append(f"{indent}    {store}[cid] = x")
    return lines
