"""Domain refusals: what a business rule says when it refuses, with no transport in it.

A service function raises one of the kinds below with one or more FieldErrors (the field, a
code, and the reason in Bahasa Indonesia and English; never the value that was sent). Each edge
maps them once: the HTTP API to a status code (`errors.install_error_handlers`), the event
consumer to the DLQ, since a retry would be refused again (`consumer.IdempotentConsumer`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str
    message_en: str


class Refusal(Exception):
    """A business rule refused what was asked."""

    def __init__(self, *errors: FieldError) -> None:
        if not errors:
            raise ValueError("a refusal names at least one field and reason")
        super().__init__(errors[0].message_en)
        self.errors = list(errors)

    @classmethod
    def of(cls, field: str, code: str, message: str, message_en: str) -> Refusal:
        return cls(FieldError(field, code, message, message_en))


class Invalid(Refusal):
    """The input breaks a rule (a date, a code, R1, R5, …)."""


class NotFound(Refusal):
    """The thing named does not exist, or is not the asker's to see."""


class Forbidden(Refusal):
    """The asker may not do this."""


class Conflict(Refusal):
    """Not allowed in the current state (a closed case, an illegal FHIR Task transition)."""


class Unauthenticated(Refusal):
    """Who is asking could not be established (a wrong password, an ended session). The reason
    is the same whatever went wrong, so that it tells nothing about the account."""


class Unavailable(Refusal):
    """The service cannot do this as configured or right now (sign-in without a key)."""
