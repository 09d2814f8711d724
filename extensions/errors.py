"""Errors any part of the product may raise (`stac_api.errors` maps each to a status code),
and the words that tell a client what is wrong with the values it sent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from extensions.i18n import N_, _


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


LIBRARY_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"BBox '(?P<bbox>.*)' must have 4 or 6 values\."),
        N_("La bbox « %(bbox)s » doit avoir 4 ou 6 valeurs."),
    ),
    (re.compile(r"invalid bbox: (?P<bbox>.*)"), N_("bbox non valide : %(bbox)s")),
    (
        re.compile(
            r"Maximum (?P<axis>longitude|latitude) \((?P<high>.*)\) must be greater than "
            r"minimum (?P=axis) +\((?P<low>.*)\)"
        ),
        N_("le maximum (%(high)s) doit dépasser le minimum (%(low)s) en %(axis)s"),
    ),
    (
        re.compile(r"Bounding box must be within \(-180, -90, 180, 90\)"),
        N_("La bbox doit tenir dans (-180, -90, 180, 90)."),
    ),
    (
        re.compile(r"Invalid RFC3339 datetime\."),
        N_("datetime non valide : une date RFC 3339 ou un intervalle de deux est attendu."),
    ),
    (
        re.compile(r"Start datetime cannot be before end datetime\."),
        N_("L'intervalle `datetime` finit avant de commencer."),
    ),
    (
        re.compile(r"Double open-ended intervals are not allowed\."),
        N_("Un intervalle `datetime` ne peut pas être ouvert des deux côtés."),
    ),
    (
        re.compile(r"Collection (?P<collection>.*) does not exist\."),
        N_("La collection %(collection)s n'existe pas."),
    ),
    (re.compile(r"Not Found"), N_("Introuvable.")),
    (re.compile(r"Method Not Allowed"), N_("Méthode non permise.")),
)
"""What stac-fastapi, stac-pydantic and Starlette tell a client, in our words and the
reader's language (their own texts are English only)."""


def library_message(message: str) -> str:
    """`message` of a library translated by LIBRARY_MESSAGES, or as it is."""
    for pattern, ours in LIBRARY_MESSAGES:
        if found := pattern.fullmatch(message):
            return _(ours, **found.groupdict())
    return message


def validation_problem(error: Mapping[str, Any]) -> str:
    """What is wrong with one value: PROBLEMS' words for pydantic's usual error types, else
    the validator's message (ours, translated where raised; a library's, by LIBRARY_MESSAGES)."""
    if (kind := error.get("type", "")) in PROBLEMS:
        return _(PROBLEMS[kind], **dict(error.get("ctx") or {}))
    message = str(error.get("msg") or "").removeprefix("Value error, ")
    return library_message(message) if message else _(UNKNOWN_PROBLEM)


def validation_message(errors: list[Any]) -> str:
    """A client's invalid values, each with where it is (`sortby.0.direction`), in the
    reader's language."""
    parts = []
    for error in errors:
        if error.get("type") == "json_invalid":  # the body, at a character's position
            problem = (error.get("ctx") or {}).get("error", "")
            parts.append(
                _("Le corps de la requête n'est pas du JSON : %(problem)s", problem=problem)
            )
            continue
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        problem = validation_problem(error)
        parts.append(
            _("%(where)s : %(problem)s", where=location, problem=problem) if location else problem
        )
    return _(" ; ").join(parts) or _("Requête non valide.")


UNKNOWN_PROBLEM = N_("valeur non valide")
PROBLEMS = {
    "missing": N_("obligatoire"),
    "int_parsing": N_("nombre entier attendu"),
    "int_type": N_("nombre entier attendu"),
    "int_from_float": N_("nombre entier attendu"),
    "float_parsing": N_("nombre attendu"),
    "bool_parsing": N_("oui ou non attendu"),
    "date_parsing": N_("date attendue au format AAAA-MM-JJ"),
    "date_from_datetime_parsing": N_("date attendue au format AAAA-MM-JJ"),
    "string_pattern_mismatch": N_("valeur non reconnue"),
    "literal_error": N_("valeur non reconnue"),
    "enum": N_("valeur non reconnue"),
    "string_too_long": N_("texte trop long (%(max_length)s caractères au plus)"),
    "greater_than_equal": N_("au moins %(ge)s"),
    "greater_than": N_("plus de %(gt)s"),
    "less_than_equal": N_("au plus %(le)s"),
    "less_than": N_("moins de %(lt)s"),
}
"""What a page or the API says of a wrong value, by pydantic's error type."""
