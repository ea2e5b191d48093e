"""The documentation's Python examples run, and print what the pages say they print."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_SRC = ROOT / "tests" / "plugin_dist" / "ch_example_plugin" / "src"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.DOTALL | re.MULTILINE)
# Between an example and its output, at most a short line such as "Output:".
GAP = re.compile(r"\A\s*(?:[^\n`]{0,40}\n)?\s*\Z")
# A line that includes a file of the repository (pymdownx.snippets, as the site does).
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)


def include_snippets(code: str) -> str:
    """``code`` with each snippet line replaced by the file it names, as the site shows it."""
    return SNIPPET.sub(
        lambda line: (ROOT / line[1]).read_text(encoding="utf-8").removesuffix("\n"), code
    )


def examples(page: Path) -> list[tuple[int, str, str | None]]:
    """Each Python block of ``page`` with its line, its code and the output shown after it."""
    text = page.read_text(encoding="utf-8")
    blocks = list(FENCE.finditer(text))
    found = []
    for block, following in zip(blocks, [*blocks[1:], None][: len(blocks)], strict=True):
        if block[1] != "python":
            continue
        output = None
        if (
            following is not None
            and following[1] in ("", "text")
            and GAP.match(text[block.end() : following.start()])
        ):
            output = following[2]
        code = include_snippets(block[2])
        found.append((text.count("\n", 0, block.start()) + 1, code, output))
    return found


def run(page: Path) -> list[tuple[int, str, str | None]]:
    """Run the page's examples in order in one namespace; return what each printed.

    An example that defines ``test_*`` functions has them called, as pytest would; an
    exception it raises is "printed" as pytest shows it (``Type: message``).
    """
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    results = []
    for line, code, output in examples(page):
        printed = io.StringIO()
        before = set(namespace)
        with contextlib.redirect_stdout(printed):
            try:
                exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
                for name in sorted(set(namespace) - before):
                    if name.startswith("test_") and callable(namespace[name]):
                        namespace[name]()
            except Exception as exc:
                if output is None:
                    raise
                print(f"{type(exc).__name__}: {exc}")
        results.append((line, printed.getvalue(), output))
    return results


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_examples_print_what_the_page_shows(
    page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every Python example runs; where the page shows its output, that is the output."""
    monkeypatch.syspath_prepend(str(PLUGIN_SRC))  # the plugin tutorial imports its example
    monkeypatch.chdir(tmp_path)  # files the examples write (a SQLite database) go here
    for line, printed, output in run(page):
        if output is not None:
            assert printed == output, f"{page.name}:{line} printed:\n{printed}"


def test_the_plugin_tutorial_shows_the_tested_example_plugin() -> None:
    """The plugin module printed in the tutorial is the one the suite builds and installs."""
    shown = [code for _, code, _ in examples(ROOT / "docs" / "writing-a-plugin.md")]
    real = (PLUGIN_SRC / "ch_example_plugin" / "__init__.py").read_text(encoding="utf-8")
    assert real in shown


def _optional_dependencies() -> dict[str, list[str]]:
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(pyproject["project"]["optional-dependencies"])


def _extras_named(page: str) -> set[str]:
    """The extras the page's list (``- `a`, `b`: ...``) or table (``| `a`, `b` | ...``)
    of extras names in its first column."""
    text = (ROOT / page).read_text(encoding="utf-8")
    section = text.split("xtras", 1)[1].split("\n#", 1)[0]
    named = set()
    for line in section.splitlines():
        line = line.strip()
        if line.startswith("- `"):
            named |= set(re.findall(r"`([a-z]+)`", line[2:].split(":", 1)[0]))
        elif line.startswith("| `"):
            named |= set(re.findall(r"`([a-z]+)`", line.split("|")[1]))
    return named


@pytest.mark.parametrize("page", ["README.md", "docs/getting-started.md"])
def test_the_install_sections_list_every_extra(page: str) -> None:
    """Every extra pyproject.toml declares is named in the page's list of extras, and
    the page names no extra that does not exist."""
    extras = set(_optional_dependencies())
    assert _extras_named(page) == extras, (page, sorted(_extras_named(page) ^ extras))


def test_the_readme_s_preview_command_installs_mkdocs() -> None:
    """The README's ``mkdocs serve`` comes after the install that brings mkdocs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"pip install [^`]*\[docs\][^`]*&& mkdocs serve", readme), readme
    assert any(r.startswith("mkdocs>") for r in _optional_dependencies()["docs"])
