"""Errors raised by customer-health.

Every error derives from :class:`CustomerHealthError` and from the builtin exception
that matches it, so ``except ValueError`` keeps working in code that does not know
this library::

    CustomerHealthError
    ├── ConfigurationError (ValueError)        weights, thresholds, factor selection
    │   └── UnknownFactorError (LookupError)   a factor name nobody registered
    ├── UnknownSegmentError (LookupError)      a segment nobody registered
    ├── InvalidInputError (ValueError)         input that fails validation
    │   ├── InvalidEventError                  an event; names the event and the field
    │   │   ├── EventConflictError             one event_id, two different contents
    │   │   └── UnknownEventKindError          a kind nobody declared; names the closest
    │   ├── InvalidCustomerError               a customer; names it and the field
    │   │   └── CustomerExistsError            adding a customer whose id is stored
    │   └── IdempotencyKeyReusedError          one Idempotency-Key, two different requests
    ├── IdempotencyKeyInUseError (RuntimeError) the key's first request is still running
    ├── UnknownCustomerError (LookupError)     a customer not being scored or not stored
    ├── CustomerNotCreatedError (ValueError)   scoring before the customer existed
    ├── PluginError                            a plugin misbehaved
    │   ├── PluginLoadError (ImportError)      an entry point that cannot be loaded
    │   ├── DuplicateNameError (ValueError)    two plugins register the same name
    │   └── FactorError (RuntimeError)         a factor raised or returned a bad score
    └── MissingExtraError (ImportError)        an optional dependency is not installed

Warnings (``UserWarning``): :class:`CustomersLeftOutWarning` when a frame's customers
were created after ``as_of``, :class:`SlowPathWarning` when a factor without a frame
form is scored one customer at a time.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "CustomerExistsError",
    "CustomerHealthError",
    "CustomerNotCreatedError",
    "CustomersLeftOutWarning",
    "DuplicateNameError",
    "EventConflictError",
    "FactorError",
    "IdempotencyKeyInUseError",
    "IdempotencyKeyReusedError",
    "InvalidCustomerError",
    "InvalidEventError",
    "InvalidInputError",
    "MissingExtraError",
    "PluginError",
    "PluginLoadError",
    "SlowPathWarning",
    "UnknownCustomerError",
    "UnknownEventKindError",
    "UnknownFactorError",
    "UnknownSegmentError",
]


class CustomerHealthError(Exception):
    """Base class of every error this library raises."""


class ConfigurationError(CustomerHealthError, ValueError):
    """A scorer configuration that makes no sense (weights, thresholds, expectations)."""


class UnknownFactorError(ConfigurationError, LookupError):
    """A factor name that no plugin registered."""


class UnknownSegmentError(CustomerHealthError, LookupError):
    """A customer's segment that no plugin registered; the message lists the known ones."""


class InvalidInputError(CustomerHealthError, ValueError):
    """Input that fails validation (an event, a customer, an ``as_of``)."""


class InvalidEventError(InvalidInputError):
    """An event that fails validation; the message names the event and the field."""


class EventConflictError(InvalidEventError):
    """Two events share an ``event_id`` but differ in content."""


class UnknownEventKindError(InvalidEventError):
    """An event of a kind that is not known: no built-in kind, no kind a factor in use
    reads, and none a plugin or the user declared (a typo such as ``"logon"``).

    :attr:`kind` is the kind, :attr:`where` the event (``event #3 (event_id 'e7')``, a
    frame's row), :attr:`suggestion` the closest known kind (or ``None``), and
    :attr:`remedy` how to make the kind known or keep unknown kinds.
    """

    def __init__(self, kind: str, where: str, suggestion: str | None, remedy: str) -> None:
        self.kind = kind
        self.where = where
        self.suggestion = suggestion
        self.remedy = remedy
        hint = f" (did you mean {suggestion!r}?)" if suggestion is not None else ""
        super().__init__(f"{where}: unknown event kind {kind!r:.80}{hint}; {remedy}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.kind, self.where, self.suggestion, self.remedy))


class InvalidCustomerError(InvalidInputError):
    """A customer that fails validation; the message names the customer and the field."""


class CustomerExistsError(InvalidCustomerError):
    """Adding a customer whose id a store already holds."""


class IdempotencyKeyReusedError(InvalidInputError):
    """A write's idempotency key was first used with another request (method, path or
    body): the earlier answer cannot stand for this one."""


class IdempotencyKeyInUseError(CustomerHealthError, RuntimeError):
    """A write's idempotency key belongs to a request that is still running: try again
    once it has finished (then its answer is replayed)."""


class UnknownCustomerError(CustomerHealthError, LookupError):
    """A customer id nobody knows: events of customers not being scored, or an id a
    store does not hold."""


class CustomerNotCreatedError(CustomerHealthError, ValueError):
    """A customer scored at an instant before its ``created_at``."""


class PluginError(CustomerHealthError):
    """A plugin misbehaved; the message names the plugin."""


class PluginLoadError(PluginError, ImportError):
    """An entry point of the ``customer_health`` group failed to load."""


class DuplicateNameError(PluginError, ValueError):
    """Two plugins registered the same factor, segment or expectation; names both."""


class FactorError(PluginError, RuntimeError):
    """A factor raised while scoring, or returned a score outside 0-100 or NaN."""


class MissingExtraError(CustomerHealthError, ImportError):
    """An optional dependency is missing; the message says which extra installs it."""

    def __init__(self, module: str, extra: str, feature: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{feature} needs {module!r}, which is not installed: "
            f"pip install 'customer-health[{extra}]'"
        )


class CustomersLeftOutWarning(UserWarning):
    """Customers created after ``as_of`` were left out of a frame's scores."""


class ShadowedFactorWarning(UserWarning):
    """A plugin registers a factor under the name of one of the built-in model's own
    (``last_seen``, ``activity_trend``): the plugin's is scored in its place."""


class SlowPathWarning(UserWarning):
    """A factor without a frame form is scored one customer at a time (slowly)."""
