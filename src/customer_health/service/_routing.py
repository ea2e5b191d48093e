"""Routes that reach ids with a ``/`` in them, sent percent-encoded (``a%2Fb``).

An id may hold a ``/`` (``a/b``), which a client puts in a path percent-encoded:
``/api/customers/a%2Fb/health``. The server hands the application the decoded path
(``scope["path"]``: ``/api/customers/a/b/health``), where that ``/`` is a separator like
any other, and Starlette routes on it: no route matches. It also hands over the path as
sent (``scope["raw_path"]``). :class:`EncodedSlashRoute` matches a request whose raw
path holds an encoded ``/`` or ``%`` against the path rebuilt from the raw one, segment
by segment - each segment decoded, then its ``%`` and ``/`` encoded again - so that only
the separators the client wrote separate; the path parameters it matches are then
decoded. (An encoded ``%`` is there for servers that decode twice, as Starlette's test
client does: ``a%252Fb``, the id ``a%2Fb``, would reach the router as ``a/b``.) Other
requests - nearly all - are matched as usual, at the cost of a look for ``%`` in the
raw path.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, unquote_to_bytes

from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

__all__ = ["EncodedSlashRoute"]

_ENCODED = re.compile(rb"%(?:2[fF]|25)")
"""An encoded ``/`` or ``%`` in a raw path."""


def _decoded(segment: bytes) -> str:
    """A raw path segment decoded as servers decode paths (UTF-8, bad bytes replaced)."""
    return unquote_to_bytes(segment).decode("utf-8", "replace")


class EncodedSlashRoute(APIRoute):
    """An :class:`~fastapi.routing.APIRoute` whose path parameters may hold a ``/``
    sent percent-encoded (``%2F``); see the module's documentation.

    Such a request is matched on its raw path alone: a rewrite of ``scope["path"]``
    (the router's trailing-slash redirect tries one) changes nothing for it.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if not raw or b"%" not in raw or scope["type"] != "http" or not _ENCODED.search(raw):
            return super().matches(scope)
        rebuilt = "/".join(
            _decoded(segment).replace("%", "%25").replace("/", "%2F") for segment in raw.split(b"/")
        )
        # The route strips the root path (a mount's, a proxy's) from this path as usual.
        match, child_scope = super().matches({**scope, "path": rebuilt})
        if match is not Match.NONE:
            params = child_scope["path_params"]
            for name in self.param_convertors:
                value = params.get(name)
                if isinstance(value, str):
                    params[name] = unquote(value)
        return match, child_scope
