"""The product in French and English: every marked string (pages, mails, PDF acts, errors)
has its English, and pages, errors and mails come in the reader's language (the switch's
cookie, then Accept-Language, French otherwise)."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from stac_api.errors import STATUS_CODES
from tests.registry import DEMO_PASSWORD, mails, unique

ROOT = Path(__file__).parents[1]
CATALOGUES = {
    "extensions/web/locales": ["extensions", "stac_api"],
    "registry_plugin/locales": ["registry_plugin"],
    "ordering_plugin/locales": ["ordering_plugin"],
}
"""Each catalogue and the packages whose strings it translates (as `make messages`)."""
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BRUCE = "bruce.wayne@formation.example"


def marked(folders: list[str]) -> set[str]:
    """The strings marked for translation in these packages, extracted as `make messages`
    does (babel.cfg), in memory."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for folder in folders:
        for _, _, message, _, _ in extract_from_dir(ROOT / folder, method_map, options_map):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locales", CATALOGUES)
def test_every_marked_string_has_its_english(locales: str) -> None:
    with (ROOT / locales / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        english = {
            (m.id if isinstance(m.id, str) else m.id[0]): (
                [m.string] if isinstance(m.string, str) else list(m.string or [])
            )
            for m in read_po(handle)
            if m.id and not m.fuzzy
        }
    used = marked(CATALOGUES[locales])
    assert used, locales
    untranslated = sorted(s for s in used if not english.get(s) or not all(english[s]))
    assert not untranslated, f"no English in {locales} (run `make messages`): {untranslated}"


def client_errors() -> set[str]:
    """The names of the exceptions the API turns into a client's `{code, description}` (those
    of `stac_api.errors.STATUS_CODES` and their subclasses), but the builtins' names."""
    found: set[str] = set()
    classes = list(STATUS_CODES)
    while classes:
        cls = classes.pop()
        if cls.__module__ != "builtins" and cls.__name__ not in found:
            found.add(cls.__name__)
            classes += cls.__subclasses__()
    return found


def test_every_message_the_api_raises_is_marked() -> None:
    """A message a client receives is written in French and marked `_()`, never a literal:
    a literal would reach every reader untranslated."""
    names = client_errors()
    literals = []
    for folder in [f for packages in CATALOGUES.values() for f in packages]:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                    continue
                called = node.exc.func
                name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", "")
                if name in names and any(
                    isinstance(arg, ast.JoinedStr)
                    or (isinstance(arg, ast.Constant) and isinstance(arg.value, str))
                    for arg in node.exc.args
                ):
                    literals.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not literals, f"messages raised unmarked (write them in French, in _()): {literals}"


def test_every_package_with_marked_strings_has_a_catalogue() -> None:
    """A package marking strings is extracted into one of the catalogues (else its strings
    would never be checked, nor translated)."""
    covered = {f for packages in CATALOGUES.values() for f in packages}
    packages = [d for d in ROOT.iterdir() if (d / "__init__.py").exists() and d.name != "tests"]
    marking = {
        package.name
        for package in packages
        if any(
            "extensions.i18n import" in p.read_text(encoding="utf-8") for p in package.rglob("*.py")
        )
    }
    assert marking and marking <= covered, marking - covered


@pytest.mark.parametrize(
    ("headers", "cookies", "lang"),
    [
        ({}, {}, "fr"),
        ({"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"}, {}, "en"),
        ({"Accept-Language": "de, en;q=0.5"}, {}, "en"),
        ({"Accept-Language": "de"}, {}, "fr"),
        ({"Accept-Language": "en"}, {"dinamis_lang": "fr"}, "fr"),
        ({}, {"dinamis_lang": "en"}, "en"),
    ],
)
async def test_the_shared_layout_speaks_the_readers_language(
    pages: httpx.AsyncClient, headers: dict[str, str], cookies: dict[str, str], lang: str
) -> None:
    pages.cookies.update(cookies)
    response = await pages.get("/connexion", headers=headers)
    assert response.status_code == 200, response.text
    assert f'<html lang="{lang}">' in response.text
    assert ("Sign out" if lang == "en" else "Déconnexion") not in response.text  # anonymous
    assert ("Portal" if lang == "en" else "Portail") in response.text
    # The switch leads to the other language, keeping the page's address.
    other = "fr" if lang == "en" else "en"
    assert f'href="/connexion?lang={other}"' in response.text
    assert "Accept-Language" in response.headers["vary"]


async def test_the_switch_is_remembered_on_every_page(pages: httpx.AsyncClient) -> None:
    switched = await pages.get("/connexion?suivant=%2Fcompte&lang=en")
    assert '<html lang="en">' in switched.text
    assert "dinamis_lang=en" in switched.headers["set-cookie"]
    assert 'href="/connexion?suivant=%2Fcompte&amp;lang=fr"' in switched.text
    # The cookie wins over the browser's language, on the other pages and the viewer.
    french_browser = {"Accept-Language": "fr-FR,fr"}
    assert '<html lang="en">' in (await pages.get("/portail", headers=french_browser)).text
    assert '<html lang="en">' in (await pages.get("/catalogue", headers=french_browser)).text
    back = await pages.get("/portail?lang=fr", headers={"Accept-Language": "en"})
    assert '<html lang="fr">' in back.text
    assert '<html lang="fr">' in (await pages.get("/connexion")).text


ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


async def test_registry_pages_errors_and_api_messages_in_english(
    pages: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    sign_in = (await pages.get("/connexion", headers=ENGLISH)).text
    assert "Forgotten password?" in sign_in and "Mot de passe" not in sign_in
    portal = (await pages.get("/portail", headers=ENGLISH)).text
    assert "Membership portal" in portal or "Welcome to the membership" in portal
    # A wrong value in the address: the error page says what is wrong, in English.
    wrong = await pages.get("/portail?page=0", headers=ENGLISH)
    assert wrong.status_code == 400
    assert "the parameter “page”: at least 1" in html.unescape(wrong.text)
    # The API's {code, description} too; French without a choice.
    refused = await client.post(
        "/auth/token", data={"username": "nobody@example.org", "password": "x"}, headers=ENGLISH
    )
    assert refused.status_code == 401
    assert refused.json()["description"] == "Wrong e-mail address or password."
    french = await client.post(
        "/auth/token", data={"username": "nobody@example.org", "password": "x"}
    )
    assert french.json()["description"] == "Adresse e-mail ou mot de passe incorrect."


async def test_ordering_pages_in_english_by_the_switch(pages: httpx.AsyncClient) -> None:
    signed = await pages.post("/auth/token", data={"username": BRUCE, "password": DEMO_PASSWORD})
    token = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    await pages.get("/portail?lang=en")  # the switch, remembered in the cookie
    desk = html.unescape((await pages.get("/commandes", headers=token)).text)
    assert "Imagery requests" in desk and "Demandes d'imagerie" not in desk
    new = html.unescape((await pages.get("/commandes/projets/nouveau", headers=token)).text)
    assert "Project type" in new and "Scientific research" in new and "Forest" in new
    assert "Recherche scientifique" not in new


@pytest.mark.parametrize(
    ("lang", "subject"),
    [
        ("en", "DINAMIS — verification of your e-mail address"),
        ("fr", "DINAMIS — vérification de votre adresse e-mail"),
    ],
)
async def test_a_mail_to_the_reader_is_in_their_language(
    pages: httpx.AsyncClient, client: httpx.AsyncClient, lang: str, subject: str
) -> None:
    address = unique("lang")
    token = CSRF.search((await pages.get(f"/portail/verification?lang={lang}")).text)
    assert token
    sent = await pages.post(
        "/portail/verification", data={"csrf_token": token.group(1), "email": address}
    )
    assert sent.status_code == 200, sent.text
    (mail,) = await mails(client, address)
    assert mail["subject"] == subject
