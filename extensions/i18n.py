"""Messages in the reader's language: French source strings, English catalogues.

Every text a person reads (pages, mails, PDF acts, API errors) is written in French and
marked for translation: `_("…")` in Python and templates, `N_("…")` where the text is
defined before anyone reads it (module constants, translated later with `_`). Each package
keeps its English in `locales/en/LC_MESSAGES/messages.po` (`make messages` extracts and
updates them); the catalogues are read with Babel when first needed, so nothing is compiled.

The language is per request (or per mail): `extensions.web.language` sets it from the
reader's choice; code with no reader (jobs, the CLI) writes French unless it says otherwise
(`speaking(lang)`). Numbers and months are written in it too (`number`, `percent`, `month`:
Babel's formats, also the pages' filters).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache
from importlib.metadata import entry_points
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from extensions.entry_points import GROUP

LANGUAGES = ("fr", "en")
"""French first: the source strings are French, the catalogues translate them to English."""
DEFAULT = "fr"
DOMAIN = "messages"
CORE_LOCALES = Path(__file__).parent / "web" / "locales"

current: ContextVar[str] = ContextVar("language", default=DEFAULT)


def locale_folders() -> list[Path]:
    """The core's catalogues and those of every installed plugin (`<package>/locales`)."""
    folders = [CORE_LOCALES]
    for point in entry_points(group=GROUP):
        spec = find_spec(point.module.split(".")[0])
        if spec and spec.origin:
            folders.append(Path(spec.origin).parent / "locales")
    return folders


Catalogue = dict[str | tuple[str, ...], str | tuple[str, ...]]


@cache
def catalogue(lang: str) -> Catalogue:
    """Every translated message of `lang` (empty for French, the source language)."""
    messages: Catalogue = {}
    for folder in locale_folders():
        path = folder / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not path.exists():
            continue
        with path.open("rb") as handle:
            for message in read_po(handle, locale=lang):
                if message.id and message.string and not message.fuzzy:
                    key = message.id if isinstance(message.id, str) else tuple(message.id)
                    text = message.string
                    messages.setdefault(key, text if isinstance(text, str) else tuple(text))
    return messages


def translation(message: str) -> str:
    """`message` in the current language, its placeholders left as they are."""
    found = catalogue(current.get()).get(message)
    return found if isinstance(found, str) else message


def plural_translation(singular: str, plural: str, n: int) -> str:
    """The form for `n` in the current language, its placeholders left as they are."""
    found = catalogue(current.get()).get((singular, plural))
    forms = found if isinstance(found, tuple) else (singular, plural)
    if current.get() == "fr":
        return forms[0] if n <= 1 else forms[-1]
    return forms[0] if n == 1 else forms[-1]


def gettext(message: str, **values: Any) -> str:
    """`message` in the current language, its `%(name)s` filled from `values`."""
    text = translation(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    """The singular or plural form for `n` (`%(num)d` is `n`), in the current language."""
    return plural_translation(singular, plural, n) % {"num": n, **values}


def language() -> str:
    """The current language: the reader's, or French."""
    return current.get()


def number(value: float | None, decimals: int = 1) -> str:
    """A number as the reader writes it (« 1 234,5 », "1,234.5"): `decimals` at most (one
    unless said: more for what a person typed, shown as typed), none on a whole number."""
    if value is None:
        return ""
    pattern = "#,##0." + "#" * decimals
    return str(format_decimal(value, format=pattern, locale=current.get()))


def percent(ratio: float) -> str:
    """A ratio as the reader writes a percentage (« 4 % », "4%")."""
    return str(format_percent(ratio, locale=current.get()))


def month(value: str) -> str:
    """A YYYY-MM month as the reader names it (« juil. 2026 », "Jul 2026")."""
    return str(format_date(date.fromisoformat(f"{value}-01"), "MMM y", locale=current.get()))


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name
    """Marks a text for extraction; it is translated where it is shown, with `_`."""
    return message


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Write in `lang` within the block (a mail to its recipient, a request's reader)."""
    token = current.set(lang if lang in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        current.reset(token)


__all__ = [
    "LANGUAGES",
    "N_",
    "_",
    "catalogue",
    "gettext",
    "language",
    "month",
    "ngettext",
    "number",
    "percent",
    "plural_translation",
    "speaking",
    "translation",
]
