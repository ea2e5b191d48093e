"""A griffe extension for the API reference: Sphinx markup in docstrings, read as Markdown.

The library's docstrings are written for ``help()`` and Sphinx: roles such as
``:class:`~customer_health.Scorer``` or ``:meth:`upgrade``` and literal blocks
introduced by ``::``. mkdocstrings renders docstrings as Markdown, where those show
as raw text. This extension rewrites them once the package is loaded:

- a role becomes inline code linked to its target. Names are resolved as Python
  resolves them in the docstring's scope (``upgrade`` in a method of
  ``SQLAlchemyStore`` is ``SQLAlchemyStore.upgrade``), and a ``~`` keeps only the
  last part as the title, as in Sphinx. The link is optional: a target the reference
  does not document (a private helper, another library) stays plain code instead of
  failing the strict build;
- a paragraph ending in ``::`` ends in ``:`` (a ``::`` line of its own goes), and the
  indented block after it stays a code block;
- prose after the field list (``:param x:`` ...) moves before it: griffe's Sphinx
  parser would read it as part of the last field's description.

mkdocs.yml lists this file under the handler's ``extensions``; it is not part of the
site (``exclude_docs``).
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj):`(?P<target>[^`]+)`")
LITERAL_INTRO = re.compile(r"(?<=\S)::$|^::$", re.MULTILINE)
FIELD = re.compile(
    r":(?:param|parameter|arg|key|keyword|type|raises?|returns?|rtype|yields?|var)\b"
)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles and ``::`` literal-block introductions as Markdown."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Rewrite every docstring of the package, once every module is loaded."""
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _rewrite(obj.docstring.value, obj, loader)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found.extend(_walk(member))  # type: ignore[arg-type]
    return found


def _rewrite(text: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str:
    text = ROLE.sub(lambda match: _link(match["target"], obj, loader), text)
    return _fields_last(LITERAL_INTRO.sub(":", text))


def _fields_last(text: str) -> str:
    """Move the paragraphs that follow a field list before it, fields keeping their order."""
    prose: list[str] = []
    fields: list[str] = []
    in_fields = False
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if FIELD.match(line):
            in_fields = True
        elif in_fields and not line.strip():
            following = next((later for later in lines[number + 1 :] if later.strip()), "")
            in_fields = following.startswith((" ", "\t")) or bool(FIELD.match(following))
            if not in_fields:
                continue  # the blank line closing the field list
        elif in_fields and not line.startswith((" ", "\t")):
            in_fields = False
        (fields if in_fields else prose).append(line)
    if not fields:
        return text
    while prose and not prose[-1].strip():
        prose.pop()
    return "\n".join([*prose, "", *fields])


def _link(target: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str:
    short = target.startswith("~")
    name = target.lstrip("~").lstrip(".")
    title = name.rsplit(".", 1)[-1] if short else name
    path = _resolve(name, obj, loader)
    code = f"<code>{html.escape(title)}</code>"
    if path is None:
        return code
    return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'


def _resolve(name: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str | None:
    """The canonical path of ``name`` as seen from ``obj``, or None if it is unknown."""
    first, _, rest = name.partition(".")
    try:
        path = obj.resolve(first)
    except griffe.NameResolutionError:
        path = first
    full = f"{path}.{rest}" if rest else path
    try:
        found = loader.modules_collection[full]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return full if "." in full else None
    try:
        return str(found.canonical_path)
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return full
