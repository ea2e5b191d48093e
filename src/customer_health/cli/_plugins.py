"""``plugins``: the installed plugins, what each registers, and where it comes from."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any, TextIO

from ..plugins.manager import BLOCK_ENV, PluginManager, collect, get_plugin_manager
from ._common import EXIT_OK, add_command
from ._output import print_table

__all__ = ["add_plugins", "describe_plugins"]


def add_plugins(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``plugins`` subcommand."""
    plugins = add_command(
        commands,
        "plugins",
        help="list the installed plugins with their factors, segments and versions",
        description="List the plugins the scorer loads (the built-in one included) with "
        "the distribution and version each comes from, the factors and segments it "
        f"registers and the expectations it adds to segments. {BLOCK_ENV} and "
        "CUSTOMER_HEALTH_ALLOW_PLUGINS apply, as when scoring.",
        examples="""
customer-health plugins
customer-health plugins --json
""",
    )
    plugins.add_argument("--json", action="store_true", help="print a JSON document")
    plugins.set_defaults(handler=_plugins)


def describe_plugins(pm: PluginManager) -> list[dict[str, Any]]:
    """Each plugin of ``pm`` (sorted by name): ``name``, ``source`` (its module),
    ``distribution``, ``version``, ``factors`` (name and default weight), ``segments``
    and ``expectations`` (added to segments of other plugins: ``{segment: [names]}``).

    The registration hooks are checked first, all together, as the scorer does.
    """
    registry = collect(pm)
    segments = _registered(pm, "register_segments")
    expectations = _registered(pm, "register_expectations")
    described = []
    for info in registry.plugins:
        factors = [
            {"name": name, "default_weight": registry.factors[name].default_weight}
            for name, owner in registry.factor_plugins.items()
            if owner == info.name
        ]
        added: dict[str, list[str]] = {}
        for segment, values in expectations.get(info.name, []):
            added.setdefault(segment, []).extend(values)
        described.append(
            {
                "name": info.name,
                "source": info.source,
                "distribution": info.distribution,
                "version": info.version,
                "factors": factors,
                "segments": [name for name, _ in segments.get(info.name, [])],
                "expectations": added,
            }
        )
    return described


def _registered(pm: PluginManager, hook: str) -> dict[str, list[tuple[str, list[str]]]]:
    """What each plugin's ``hook`` registers: (segment, expectation names) pairs."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for impl in getattr(pm.hook, hook).get_hookimpls():
        calls = found.setdefault(impl.plugin_name, [])

        def register(name: str, values: Mapping[str, float], /, _calls: list[Any] = calls) -> None:
            _calls.append((name, list(values)))

        impl.function(**({"register": register} if "register" in impl.argnames else {}))
    return found


def _plugins(args: argparse.Namespace, out: TextIO) -> int:
    described = describe_plugins(get_plugin_manager())
    if args.json:
        print(json.dumps({"plugins": described}, indent=2), file=out)
        return EXIT_OK
    rows = []
    for plugin in described:
        origin = (
            f"{plugin['distribution']} {plugin['version']}"
            if plugin["distribution"]
            else plugin["source"]
        )
        added = "; ".join(
            f"{segment}: {', '.join(names)}" for segment, names in plugin["expectations"].items()
        )
        rows.append(
            [
                plugin["name"],
                origin,
                ", ".join(f["name"] for f in plugin["factors"]) or "-",
                ", ".join(plugin["segments"]) or "-",
                added or "-",
            ]
        )
    header = ["plugin", "from", "factors", "segments", "expectations added"]
    print_table(header, rows, out, right=frozenset())
    return EXIT_OK
