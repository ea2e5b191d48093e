"""The plugin manager: entry points, the built-in plugin, blocking and allowing."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import customer_health
from customer_health import ConfigurationError, PluginError, PluginLoadError, Scorer, testing
from customer_health import builtin as builtin_plugin
from customer_health.builtin.factors import BUILTIN_FACTORS
from customer_health.plugins import NAME
from customer_health.plugins.manager import (
    ALLOW_ENV,
    BLOCK_ENV,
    BUILTIN_PLUGIN,
    collect,
    get_plugin_manager,
)
from customer_health.segments import BUILTIN_SEGMENTS

from .helpers import NpsScore, write_dist_info, write_plugin_module

BUILTIN_NAMES = [factor.name for factor in BUILTIN_FACTORS]
DEFAULT_NAMES = [*BUILTIN_NAMES, "last_seen", "activity_trend"]
"""The default model's factors (v2): the built-in plugin's, then the model's own."""

FakeEntryPoints = Callable[..., None]


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on ``sys.path`` for plugin modules; they are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for module in set(sys.modules) - before:
        if (getattr(sys.modules[module], "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[module]


@pytest.fixture
def module_name() -> str:
    """A module (and factor) name no other test uses."""
    return f"tmp_plugin_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> FakeEntryPoints:
    """Replace the installed ``customer_health`` entry points with ``name=value`` pairs."""

    def install(**entry_points: str) -> None:
        fake = [
            importlib.metadata.EntryPoint(name=name, value=value, group=NAME)
            for name, value in entry_points.items()
        ]

        def entry_points_(**params: str) -> list[importlib.metadata.EntryPoint]:
            assert params == {"group": NAME}
            return list(fake)

        monkeypatch.setattr(importlib.metadata, "entry_points", entry_points_)

    return install


def test_importing_the_package_creates_no_plugin_manager() -> None:
    """Importing customer_health (and its testing helpers) builds no plugin manager and
    reads no customer_health entry points; building a Scorer does both."""
    code = textwrap.dedent(
        """
        import importlib.metadata, pluggy

        calls = []
        original_entry_points = importlib.metadata.entry_points
        original_init = pluggy.PluginManager.__init__

        def entry_points(*args, **kwargs):
            if kwargs.get("group") == "customer_health":  # pydantic reads its own group
                calls.append("entry_points")
            return original_entry_points(*args, **kwargs)

        def init(self, *args, **kwargs):
            calls.append("PluginManager")
            original_init(self, *args, **kwargs)

        importlib.metadata.entry_points = entry_points
        pluggy.PluginManager.__init__ = init

        import customer_health, customer_health.testing
        print(sorted(set(calls)))
        customer_health.Scorer()
        print(sorted(set(calls)))
        """
    )
    env = {key: value for key, value in os.environ.items() if key not in (BLOCK_ENV, ALLOW_ENV)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.splitlines() == ["[]", "['PluginManager', 'entry_points']"]


def test_builtin_plugin_registers_through_the_same_hooks_as_a_third_party() -> None:
    """The built-in plugin is a module whose register_factors/register_segments hook
    implementations sit beside a third party's, and the registry attributes each factor."""
    third = testing.make_plugin(NpsScore(), expectations={"smb": {"nps_target": 7}}, name="third")
    pm = testing.plugin_manager(third)
    assert pm.get_plugin(BUILTIN_PLUGIN) is builtin_plugin
    for hook in (pm.hook.register_factors, pm.hook.register_segments):
        assert sorted(impl.plugin_name for impl in hook.get_hookimpls()) == ["builtin", "third"]
    registry = collect(pm)
    assert registry.factor_plugins == {**dict.fromkeys(BUILTIN_NAMES, "builtin"), "nps": "third"}
    assert registry.segments["enterprise"] == BUILTIN_SEGMENTS["enterprise"]
    assert registry.segments["smb"] == {**BUILTIN_SEGMENTS["smb"], "nps_target": 7.0}


def test_builtin_plugin_is_registered_without_a_builtin_entry_point(
    fake_entry_points: FakeEntryPoints,
) -> None:
    """Run from a source tree (no entry point called builtin), the built-in plugin is
    still registered, and the default factors are there."""
    fake_entry_points()
    pm = get_plugin_manager()
    assert pm.get_plugin(BUILTIN_PLUGIN) is builtin_plugin
    assert list(Scorer().factors) == DEFAULT_NAMES


def test_fake_entry_point_loads_a_plugin_module(
    plugin_dir: Path, module_name: str, fake_entry_points: FakeEntryPoints
) -> None:
    """A customer_health entry point pointing at a module loads it as a plugin named
    after the entry point."""
    write_plugin_module(plugin_dir, module_name)
    fake_entry_points(extra=module_name)
    scorer = Scorer()
    assert scorer.factors == (*DEFAULT_NAMES, module_name)
    assert scorer.registry.factor_plugins[module_name] == "extra"
    assert [info.name for info in scorer.registry.plugins] == ["builtin", "extra"]


def test_dist_info_on_sys_path_loads_a_plugin(plugin_dir: Path, module_name: str) -> None:
    """A real *.dist-info directory (METADATA, entry_points.txt) on sys.path is found by
    importlib.metadata, and the plugin records its distribution and version."""
    write_plugin_module(plugin_dir, module_name)
    write_dist_info(plugin_dir, "ch-tmp-plugin", "1.2.3", {"tmp": module_name})
    scorer = Scorer()
    assert module_name in scorer.factors
    info = next(info for info in scorer.registry.plugins if info.name == "tmp")
    assert (info.source, info.distribution, info.version) == (module_name, "ch-tmp-plugin", "1.2.3")
    health = scorer.score({"id": "c1", "segment": "smb"}, [], as_of="2026-06-30")
    assert health.factor(module_name).score == 42.0


def test_block_by_environment_variable(
    plugin_dir: Path,
    module_name: str,
    fake_entry_points: FakeEntryPoints,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An entry point named in CUSTOMER_HEALTH_BLOCK_PLUGINS is neither loaded nor imported."""
    write_plugin_module(plugin_dir, module_name)
    fake_entry_points(extra=module_name, broken="no_such_module_anywhere")
    monkeypatch.setenv(BLOCK_ENV, " extra , broken,")
    assert Scorer().factors == tuple(DEFAULT_NAMES)
    assert module_name not in sys.modules


def test_block_by_argument(
    plugin_dir: Path, module_name: str, fake_entry_points: FakeEntryPoints
) -> None:
    """An entry point named in block_plugins= is neither loaded nor imported."""
    write_plugin_module(plugin_dir, module_name)
    fake_entry_points(extra=module_name, broken="no_such_module_anywhere")
    assert Scorer(block_plugins=["extra", "broken"]).factors == tuple(DEFAULT_NAMES)
    assert module_name not in sys.modules


def test_block_argument_adds_to_the_environment_variable(
    plugin_dir: Path,
    module_name: str,
    fake_entry_points: FakeEntryPoints,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """block_plugins= and CUSTOMER_HEALTH_BLOCK_PLUGINS both apply."""
    write_plugin_module(plugin_dir, module_name)
    fake_entry_points(extra=module_name, broken="no_such_module_anywhere")
    monkeypatch.setenv(BLOCK_ENV, "broken")
    assert Scorer(block_plugins=["extra"]).factors == tuple(DEFAULT_NAMES)


def test_allow_by_environment_variable(
    plugin_dir: Path,
    fake_entry_points: FakeEntryPoints,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With CUSTOMER_HEALTH_ALLOW_PLUGINS set, only the listed entry points load, and
    the built-in plugin is still there."""
    write_plugin_module(plugin_dir, "allowed_one")
    fake_entry_points(one="allowed_one", other="no_such_module_anywhere")
    monkeypatch.setenv(ALLOW_ENV, "one")
    assert Scorer().factors == (*DEFAULT_NAMES, "allowed_one")


def test_allow_by_argument(plugin_dir: Path, fake_entry_points: FakeEntryPoints) -> None:
    """With allow_plugins=, only the listed entry points load, and the built-in plugin is
    still there."""
    write_plugin_module(plugin_dir, "allowed_two")
    fake_entry_points(two="allowed_two", other="no_such_module_anywhere")
    assert Scorer(allow_plugins=["two"]).factors == (*DEFAULT_NAMES, "allowed_two")


def test_allow_argument_overrides_the_environment_variable(
    plugin_dir: Path,
    fake_entry_points: FakeEntryPoints,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """allow_plugins= replaces CUSTOMER_HEALTH_ALLOW_PLUGINS; an empty list allows only
    the built-in plugin."""
    write_plugin_module(plugin_dir, "allowed_three")
    fake_entry_points(three="allowed_three")
    monkeypatch.setenv(ALLOW_ENV, "three")
    assert Scorer(allow_plugins=[]).factors == tuple(DEFAULT_NAMES)


def test_allowed_builtin_entry_point_is_loaded_from_its_entry_point(
    fake_entry_points: FakeEntryPoints,
) -> None:
    """The built-in plugin's own entry point loads even when the allow list omits it."""
    fake_entry_points(builtin="customer_health.builtin")
    pm = get_plugin_manager(allow=["something_else"])
    assert pm.get_plugin(BUILTIN_PLUGIN) is builtin_plugin


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_blocking_builtin_leaves_no_builtin_factors(
    how: str, fake_entry_points: FakeEntryPoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocking builtin (which the allow list cannot undo) leaves no built-in factors or
    segments, and Scorer() then says there is nothing to score with."""
    fake_entry_points(builtin="customer_health.builtin")
    plugin = testing.make_plugin(NpsScore(), segments={"nonprofit": {"nps_target": 6}})
    if how == "argument":
        scorer = Scorer(block_plugins=["builtin"], allow_plugins=["builtin"], plugins=[plugin])
    else:
        monkeypatch.setenv(BLOCK_ENV, "builtin")
        monkeypatch.setenv(ALLOW_ENV, "builtin")
        scorer = Scorer(plugins=[plugin])
    assert scorer.factors == ("nps",)
    assert dict(scorer.registry.segments) == {"nonprofit": {"nps_target": 6.0}}
    options = {"block_plugins": ["builtin"]} if how == "argument" else {}
    with pytest.raises(ConfigurationError, match=r"no factors to score with.*is a plugin blocked"):
        Scorer(**options)


def test_entry_point_that_fails_to_import_names_it(
    plugin_dir: Path, fake_entry_points: FakeEntryPoints
) -> None:
    """An entry point whose module raises on import is a PluginLoadError (an ImportError)
    naming the entry point, its target and how to block it; the cause is chained."""
    write_plugin_module(plugin_dir, "explodes_on_import", "raise RuntimeError('kaboom')\n")
    fake_entry_points(shaky="explodes_on_import")
    with pytest.raises(
        PluginLoadError,
        match=r"plugin 'shaky' \(explodes_on_import\) failed to load: RuntimeError\('kaboom'\); "
        r".*CUSTOMER_HEALTH_BLOCK_PLUGINS=shaky",
    ) as caught:
        Scorer()
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_entry_point_to_a_missing_module_names_it(fake_entry_points: FakeEntryPoints) -> None:
    """An entry point naming a module that does not exist is a PluginLoadError naming it."""
    fake_entry_points(ghost="no_such_module_anywhere:plugin")
    with pytest.raises(PluginLoadError, match=r"plugin 'ghost' \(no_such_module_anywhere:plugin\)"):
        Scorer()


def test_misspelled_hook_name_is_rejected_naming_the_plugin() -> None:
    """A hook implementation whose name is no customer_health hook is a PluginError naming
    the plugin and the misspelled hook."""

    class Typo:
        @staticmethod
        @customer_health.hookimpl
        def register_factor(register: object) -> None:
            raise AssertionError("never called")

    with pytest.raises(PluginError, match=r"plugin 'Typo' .*unknown hook 'register_factor'"):
        testing.plugin_manager(Typo)


def test_misspelled_hook_in_an_entry_point_is_rejected_naming_it(
    plugin_dir: Path, fake_entry_points: FakeEntryPoints
) -> None:
    """A misspelled hook in an installed plugin is an error naming its entry point."""
    body = """
        import customer_health

        @customer_health.hookimpl
        def register_segment(register):
            pass
        """
    write_plugin_module(plugin_dir, "typo_plugin", textwrap.dedent(body))
    fake_entry_points(typo="typo_plugin")
    with pytest.raises(PluginError, match=r"plugin 'typo' .*unknown hook 'register_segment'"):
        Scorer()


def test_hook_argument_not_in_the_spec_is_rejected_naming_the_plugin() -> None:
    """A hook implementation asking for an argument the hook does not have is a
    PluginError naming the plugin."""

    class Renamed:
        @staticmethod
        @customer_health.hookimpl
        def register_factors(callback: object) -> None:
            raise AssertionError("never called")

    with pytest.raises(PluginError, match=r"(?s)plugin 'Renamed' is not a valid.*'callback'"):
        testing.plugin_manager(Renamed)


def test_the_same_plugin_object_twice_is_registered_once() -> None:
    """Passing the built-in module again (under another name) adds nothing and is no error."""
    pm = testing.plugin_manager(builtin_plugin)
    assert pm.list_name_plugin() == [(BUILTIN_PLUGIN, builtin_plugin)]
    assert list(Scorer(plugins=[builtin_plugin], entry_points=False).factors) == DEFAULT_NAMES


def test_hook_without_register_argument_is_called() -> None:
    """pluggy passes only the arguments a hook implementation asks for: one that takes no
    register callback is still called."""
    called: list[str] = []

    class Quiet:
        @staticmethod
        @customer_health.hookimpl
        def register_segments() -> None:
            called.append("register_segments")

    testing.make_scorer(Quiet)
    assert called == ["register_segments"]
