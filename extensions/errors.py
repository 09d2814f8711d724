"""Errors any part of the product may raise; `stac_api.errors` maps each to a status code."""

from __future__ import annotations


class AuthenticationRequired(Exception):
    """No credential was sent for an operation that needs one (401)."""


class PermissionDenied(Exception):
    """The credential sent does not allow this operation (403)."""


class NotFound(LookupError):
    """No such object (404)."""


class Conflict(Exception):
    """The request conflicts with the object's current state (409)."""


class InvalidRequest(ValueError):
    """The request is well-formed but its values are not acceptable (400)."""


class TooManyRequests(Exception):
    """Rate limited (429); `retry_after` seconds until the next attempt is allowed."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PayloadTooLarge(ValueError):
    """An upload over its size limit (413)."""


class UnsupportedMediaType(ValueError):
    """An upload of a type that is not accepted (415)."""


class InvalidSearch(ValueError):
    """A search the API can parse but not run (e.g. an unknown collection) (400)."""


class InvalidFields(InvalidRequest):
    """Values rejected field by field: {field: message}, shown next to each field on pages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k != "__all__" else v for k, v in errors.items()))
        self.errors = errors
