"""The documentation site documents what the code has: every hook, every public name.

``nox -s docs`` builds the site with ``mkdocs build --strict``; these tests check what
a build cannot: that the hand-written hooks reference matches the hook specifications,
and that the API reference leaves no public name out.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import customer_health
from customer_health.plugins import hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
HOOKS_PAGE = DOCS / "hooks.md"
PLUGIN = ROOT / "tests" / "plugin_dist" / "ch_example_plugin"

HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$", re.MULTILINE)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
AUTODOC = re.compile(r"^::: ([\w.]+)\s*$", re.MULTILINE)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)

REFERENCE_MODULES = (
    "customer_health",
    "customer_health.testing",
    "customer_health.plugins",
    "customer_health.plugins.hookspecs",
    "customer_health.storage",
    "customer_health.storage.sqlalchemy",
    "customer_health.storage.migrations",
    "customer_health.service",
    "customer_health.sample",
    "customer_health.plot",
)
"""The public modules; each has its ``:::`` block in ``docs/reference``."""


def hooks() -> dict[str, Callable[..., Any]]:
    """The hook specifications: the functions pluggy knows as ``customer_health`` hooks."""
    marker = f"{customer_health.plugins.NAME}_spec"
    return {
        name: function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, marker)
    }


def signature(name: str, function: Callable[..., Any], *, skip_self: bool = False) -> str:
    """``def name(...) -> ...: ...`` as the hooks page shows it, from the real signature.

    The annotations are the source's text (hookspecs uses postponed annotations).
    """
    real = inspect.signature(function)
    parameters = list(real.parameters.values())[1 if skip_self else 0 :]
    shown = real.replace(parameters=[_unquoted(parameter) for parameter in parameters])
    if isinstance(real.return_annotation, str):
        shown = shown.replace(return_annotation=_Text(real.return_annotation))
    return f"def {name}{shown}: ..."


class _Text(str):
    """An annotation that ``inspect`` shows as it is, without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _unquoted(parameter: inspect.Parameter) -> inspect.Parameter:
    if isinstance(parameter.annotation, str):
        return parameter.replace(annotation=_Text(parameter.annotation))
    return parameter


def sections(page: Path) -> dict[str, str]:
    """The text under each level-2 heading of ``page``, by the heading's text."""
    text = page.read_text(encoding="utf-8")
    headings = [match for match in HEADING.finditer(text) if match[1] == "##"]
    ends = [match.start() for match in headings[1:]] + [len(text)]
    return {match[2]: text[match.end() : end] for match, end in zip(headings, ends, strict=True)}


def code_blocks(text: str) -> list[tuple[str, str]]:
    """Each fenced block of ``text``: its language and its code (without the last newline)."""
    return [(match[1], match[2].removesuffix("\n")) for match in FENCE.finditer(text)]


def test_the_hook_specifications_are_found() -> None:
    """The test sees the four hooks, so the checks below cannot pass by seeing none."""
    assert set(hooks()) == {
        "register_factors",
        "register_segments",
        "register_expectations",
        "register_event_kinds",
    }


@pytest.mark.parametrize("name", sorted(hooks()))
def test_every_hook_has_a_heading_and_its_real_signature(name: str) -> None:
    """The hooks page has a heading per hook, followed first by the hook's signature."""
    found = sections(HOOKS_PAGE)
    assert f"`{name}`" in found, f"docs/hooks.md has no heading '## `{name}`'"
    blocks = code_blocks(found[f"`{name}`"])
    assert blocks, f"the section of {name} in docs/hooks.md shows no signature"
    assert blocks[0] == ("py", signature(name, hooks()[name])), (
        f"docs/hooks.md shows {name} as {blocks[0][1]!r}; the hookspec is "
        f"{signature(name, hooks()[name])!r}"
    )


@pytest.mark.parametrize("name", sorted(hooks()))
def test_every_hook_shows_its_callback_and_the_callback_signature(name: str) -> None:
    """The section shows the Protocol of the ``register`` callback with its real signature."""
    protocol = inspect.get_annotations(hooks()[name])["register"]
    callback = getattr(customer_health.plugins, protocol)
    expected = "\n".join(
        [
            f"class {protocol}(Protocol):",
            "    " + signature("__call__", callback.__call__),
        ]
    )
    assert ("py", expected) in code_blocks(sections(HOOKS_PAGE)[f"`{name}`"])


def test_the_hooks_page_documents_no_hook_that_does_not_exist() -> None:
    """Every section of the hooks page is a hook: a renamed or removed hook leaves none."""
    documented = {heading.strip("`") for heading in sections(HOOKS_PAGE)}
    assert documented == set(hooks()), (
        f"sections of docs/hooks.md that are no hook: {documented - set(hooks())}"
    )


def test_the_signature_check_sees_a_difference() -> None:
    """A hook with another parameter name, annotation or return type shows differently."""

    def register_factors(register: RegisterFactor) -> None:  # noqa: F821
        """The real hook's signature, in a function of this module."""

    def renamed(callback: RegisterFactor) -> None:  # noqa: F821
        """A parameter of another name."""

    real = signature("register_factors", hooks()["register_factors"])
    assert signature("register_factors", register_factors) == real
    assert signature("register_factors", renamed) != real
    assert real == "def register_factors(register: RegisterFactor) -> None: ..."


def reference() -> dict[str, Path]:
    """The objects the API reference renders (``::: name``), with their page."""
    return {
        name: page
        for page in sorted((DOCS / "reference").glob("*.md"))
        for name in AUTODOC.findall(page.read_text(encoding="utf-8"))
    }


@pytest.mark.parametrize("module", REFERENCE_MODULES)
def test_every_public_module_is_in_the_api_reference(module: str) -> None:
    """Each public module has a ``:::`` block in docs/reference."""
    assert module in reference(), f"no page of docs/reference renders '::: {module}'"


def test_every_name_of_the_package_is_in_the_api_reference() -> None:
    """Each name of ``customer_health.__all__`` is rendered on the package's page.

    The package's page renders the module without members and then each name in its
    group, so a new public name needs a place there.
    """
    rendered = reference()
    missing = [
        name for name in customer_health.__all__ if f"customer_health.{name}" not in rendered
    ]
    page = DOCS / "reference" / "customer_health.md"
    assert not missing, f"{page} has no '::: customer_health.<name>' for {missing}"
    extra = [
        name
        for name, shown_on in rendered.items()
        if shown_on == page
        and name != "customer_health"
        and name.removeprefix("customer_health.") not in customer_health.__all__
    ]
    assert not extra, f"{page} renders names not in __all__: {extra}"


def test_the_plugin_tutorial_includes_every_file_of_the_example_plugin() -> None:
    """Each source and build file of the example plugin is included from the repository."""
    text = (DOCS / "writing-a-plugin.md").read_text(encoding="utf-8")
    included = {ROOT / path for path in SNIPPET.findall(text)}
    files = {path for pattern in ("**/*.py", "*.toml") for path in PLUGIN.glob(pattern)}
    assert files, f"found no files in {PLUGIN}"
    assert files <= included, f"not included: {sorted(map(str, files - included))}"
    for path in included:
        assert path.is_file(), f"docs/writing-a-plugin.md includes {path}, which does not exist"


def test_the_site_lists_every_page_of_the_docs() -> None:
    """mkdocs.yml's navigation names every page under docs/ and no page that is missing."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:\n") : config.index("\n\n", config.index("\nnav:\n"))]
    listed = set(re.findall(r"(?:: |- )([\w./-]+\.md)$", nav, re.MULTILINE))
    pages = {str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md")}
    assert listed == pages
