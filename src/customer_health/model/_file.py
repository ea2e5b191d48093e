"""Model files: a scorer's whole configuration as TOML (``Scorer.from_file``,
``Scorer.to_file``; ``docs/model.md``, "Model files").

::

    [model]
    name = "acme"
    version = "3"

    [thresholds]
    healthy = 70.0
    at_risk = 40.0

    [factors.api_usage]          # a registered factor (built-in or a plugin's)
    weight = 0.25

    [factors.last_login]         # a factor made from a factor type
    type = "recency"
    kinds = ["login"]
    expected = 7.0
    weight = 0.2

    [segments.enterprise]        # expectations, over those the plugins register
    last_login = 5.0

The factors are scored in the file's order. Read with the standard library
(:mod:`tomllib`); written by :func:`model_text`, which needs no package: a model file
holds texts, numbers, booleans and lists of texts alone.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ..builtin.types import FACTOR_TYPES
from ..exceptions import ConfigurationError
from ..factors import Factor
from ..models import MAX_MODEL_NAME_LENGTH, MAX_MODEL_VERSION_LENGTH, MODEL_NAME, MODEL_VERSION
from ..plugins.manager import BUILTIN_PLUGIN
from ..segments import checked_expectations
from ._resolved import ScorerConfig

__all__ = [
    "MODEL_OPTIONS",
    "ModelFile",
    "given_expectations",
    "model_label",
    "model_text",
    "read_model_file",
]

_SECTIONS: Final = ("model", "thresholds", "factors", "segments")


def model_label(name: Any, version: Any) -> tuple[str, str]:
    """The model's name and version, checked: non-empty texts of at most 64 and 16
    characters (what the store holds)."""
    for label, value, longest in (
        ("name", name, MAX_MODEL_NAME_LENGTH),
        ("version", version, MAX_MODEL_VERSION_LENGTH),
    ):
        if not isinstance(value, str) or not value.strip() or len(value) > longest:
            raise ConfigurationError(
                f"model {label} {value!r}; it must be a non-empty text of at most {longest} "
                "characters"
            )
    return name, version


def given_expectations(
    expectations: Mapping[str, Mapping[str, float]] | None,
) -> dict[str, dict[str, float]]:
    """``expectations=`` by segment, checked as a plugin's are."""
    if expectations is None:
        return {}
    if not isinstance(expectations, Mapping):
        raise ConfigurationError(
            f"expectations={expectations!r}; expected a mapping of segments to mappings of "
            "expectation names to numbers"
        )
    return {
        segment: checked_expectations(segment, values, "expectations=")
        for segment, values in expectations.items()
    }


@dataclass(frozen=True)
class ModelFile:
    """A model, checked: what a model file says, or a built-in model
    (:func:`~customer_health.model.builtin_model`). The keyword arguments of a
    :class:`~customer_health.Scorer`, and the factors the model makes from factor types
    (:attr:`made`), which the scorer registers as a plugin's, under :attr:`plugin`."""

    name: str
    version: str
    factors: tuple[str, ...] | None
    """The factors in scoring order; None for every registered factor."""
    weights: dict[str, float]
    thresholds: dict[str, float] | None
    expectations: dict[str, dict[str, float]]
    made: tuple[Factor, ...] = field(default=())
    where: str = "model file"
    builtin: bool = False
    """A built-in model: its factors are the built-in plugin's, and go with it when it is
    blocked."""

    @property
    def plugin(self) -> str:
        """The plugin name the :attr:`made` factors are registered under."""
        return BUILTIN_PLUGIN if self.builtin else self.where


MODEL_OPTIONS: Final = frozenset(
    {"model", "factors", "weights", "thresholds", "expectations", "model_name", "model_version"}
)
"""The arguments of :class:`~customer_health.Scorer` a model sets (its plugin and
event-kind arguments are the caller's)."""


def read_model_file(path: str | os.PathLike[str]) -> ModelFile:
    """Read and check the model file at ``path``; a mistake is a
    :class:`~customer_health.ConfigurationError` naming the file and the entry."""
    where = f"model file {str(path)!r}"
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {where}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{where} is not TOML: {exc}") from None
    return _parsed(data, where)


def _parsed(data: Mapping[str, Any], where: str) -> ModelFile:
    unknown = [key for key in data if key not in _SECTIONS]
    if unknown:
        raise ConfigurationError(
            f"{where} has sections {unknown} that are none of {', '.join(_SECTIONS)}"
        )
    model = _table(data, "model", where)
    _only(model, ("name", "version"), "[model]", where)
    try:
        name, version = model_label(
            model.get("name", MODEL_NAME), model.get("version", MODEL_VERSION)
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}, [model]: {exc}") from None
    thresholds = _table(data, "thresholds", where) or None
    factors = _table(data, "factors", where)
    if not factors:
        raise ConfigurationError(f"{where} names no factor: add a [factors.<name>] table")
    weights: dict[str, float] = {}
    made: list[Factor] = []
    for factor_name, entry in factors.items():
        label = f"[factors.{factor_name}]"
        if not isinstance(entry, Mapping):
            raise ConfigurationError(f"{where}: {label} is {entry!r}, not a table")
        parameters = dict(entry)
        weight = parameters.pop("weight", None)
        if weight is not None:
            weights[factor_name] = weight
        kind = parameters.pop("type", None)
        if kind is None:
            if parameters:
                raise ConfigurationError(
                    f"{where}: {label} has {sorted(parameters)} but no type; a registered "
                    "factor takes a weight alone, a factor type its parameters"
                )
            continue
        made.append(_made(factor_name, kind, parameters, weight, f"{where}: {label}"))
    segments = _table(data, "segments", where)
    try:
        expectations = given_expectations(segments)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}, [segments]: {exc}") from None
    return ModelFile(
        name=name,
        version=version,
        factors=tuple(factors),
        weights=weights,
        thresholds=thresholds,
        expectations=expectations,
        made=tuple(made),
        where=where,
    )


def _made(name: str, kind: Any, parameters: dict[str, Any], weight: Any, where: str) -> Factor:
    build = FACTOR_TYPES.get(kind) if isinstance(kind, str) else None
    if build is None:
        raise ConfigurationError(
            f"{where} has type {kind!r}; the factor types are {', '.join(FACTOR_TYPES)}"
        )
    options = {**parameters, **({} if weight is None else {"weight": weight})}
    try:
        return build(name, **options)
    except TypeError as exc:  # a parameter the type does not take
        raise ConfigurationError(f"{where}: {kind} {exc}") from None
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _table(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    found = data.get(key, {})
    if not isinstance(found, Mapping):
        raise ConfigurationError(f"{where}: [{key}] is {found!r}, not a table")
    return dict(found)


def _only(table: Mapping[str, Any], keys: Iterable[str], label: str, where: str) -> None:
    extra = [key for key in table if key not in keys]
    if extra:
        raise ConfigurationError(f"{where}: {label} has {extra}; it takes {', '.join(keys)}")


# -- writing ------------------------------------------------------------------------------------


def model_text(config: ScorerConfig, order: Iterable[str], factors: Mapping[str, Factor]) -> str:
    """The model file of ``config`` (its factors in scoring ``order``; ``factors`` by
    name, for their parameters and default weights): it reads back to the same
    configuration and fingerprint, given the same plugins."""
    lines = [
        "# customer-health model file: customer_health.Scorer.from_file() reads it",
        "",
        "[model]",
        f"name = {_value(config.model_name)}",
        f"version = {_value(config.model_version)}",
        "",
        "[thresholds]",
        f"healthy = {_value(config.thresholds.healthy)}",
        f"at_risk = {_value(config.thresholds.at_risk)}",
    ]
    for name in order:
        lines += ["", f"[factors.{_key(name)}]"]
        for key, value in config.parameters.get(name, {}).items():
            lines.append(f"{_key(key)} = {_value(value)}")
        lines.append(f"weight = {_value(config.weights[name])}")
    for segment, values in config.expectations.items():
        lines += ["", f"[segments.{_key(segment)}]"]
        lines += [f"{_key(key)} = {_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    """A TOML key: bare when it can be, else quoted."""
    bare = name and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)
    return name if bare else _value(name)


def _value(value: Any) -> str:
    """A TOML value of a model file: text, boolean, number or list of texts."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(c if c.isprintable() else f"\\U{ord(c):08x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise ConfigurationError(f"a model file cannot hold {value!r}")  # pragma: no cover
