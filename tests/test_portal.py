"""The portal and the registry's pages as a new user finds them (issue 17, points 10–17):
searches, lists, error pages and wording, without a browser."""

from __future__ import annotations

import html
import re
import secrets

import httpx
import pytest
from pydantic import ValidationError

from registry_plugin.schemas import AccountRequest, field_errors
from registry_plugin.vocabulary import countries
from tests.registry import (
    DEMO_PASSWORD,
    INSTRUCTOR,
    entity_id,
    request_account,
    unique,
)
from tests.test_matrix import accepted_entity, awaiting_entity
from tests.test_registry_pages import CSRF, form


def shown(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def post_from(
    pages: httpx.AsyncClient, page: str, action: str, data: dict[str, object] | None = None
) -> httpx.Response:
    """Post one of a page's forms as a browser would: with the token of the page."""
    token = CSRF.search((await pages.get(page)).text)
    assert token, f"{page} has no form"
    return await pages.post(action, data={"csrf_token": token.group(1), **(data or {})})


async def sign_in(pages: httpx.AsyncClient, email: str) -> None:
    signed = await form(pages, "/connexion", {"email": email, "password": DEMO_PASSWORD})
    assert signed.status_code == 303, signed.text


async def test_entity_search_finds_the_city_whatever_its_case_and_accents(
    pages: httpx.AsyncClient,
) -> None:
    for query in ("MONTPELLIER", "nimes", "NÎMES", "privé MONTPELLIER", "formation montpellier"):
        found = await pages.get("/portail", params={"q": query})
        assert found.status_code == 200
        assert "Aucune entité adhérente" not in shown(found), query
    nimes = shown(await pages.get("/portail", params={"q": "nimes"}))
    assert "Autre Collectivité" in nimes and "Formation_6_Novembre" not in nimes


def test_countries_sort_in_french_with_accented_names_among_the_others() -> None:
    names = countries()
    assert names[0] == "France"
    assert names.index("Égypte") < names.index("Équateur") < names.index("Espagne")
    assert names.index("Espagne") < names.index("États-Unis") < names.index("Éthiopie")
    assert names.index("Éthiopie") < names.index("Finlande") < names.index("Zimbabwe")
    assert names[-1] == "Zimbabwe"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/portail?page=abc", "« page » : nombre entier attendu", id="integer"),
        pytest.param(
            "/portail/verification?demarche=pirate",
            "« demarche » : valeur non reconnue",
            id="pattern",
        ),
        pytest.param("/registre/entite?id=abc", "« id » : nombre entier attendu", id="row-id"),
        pytest.param("/portail?page=0", "« page » : au moins 1", id="bound"),
    ],
)
async def test_query_string_errors_are_said_in_french_on_the_error_page(
    pages: httpx.AsyncClient, path: str, expected: str
) -> None:
    await sign_in(pages, INSTRUCTOR)
    response = await pages.get(path)
    assert response.status_code == 400
    text = shown(response)
    assert "Action impossible" in text and expected in text
    for raw in ("Input should", "String should", "^(", "query.", "valid integer"):
        assert raw not in text, raw


async def test_messages_elide_de_and_outbox_states_are_in_french(
    client: httpx.AsyncClient, pages: httpx.AsyncClient
) -> None:
    entity = await entity_id(client, "Formation_6_11")
    account = await request_account(client, unique("alfred"), entity, first_name="Alfred")
    assert account.status_code == 201, account.text
    await sign_in(pages, INSTRUCTOR)
    validated = await post_from(
        pages, f"/registre/entite?id={entity}", f"/registre/comptes/{account.json()['id']}/valider"
    )
    assert validated.status_code == 303
    text = shown(await pages.get(validated.headers["location"]))
    assert "Compte d'Alfred Wayne validé." in text

    outbox = shown(await pages.get("/registre/courriels"))
    states = set(re.findall(r'class="badge \w+">([^<]+)<', outbox))
    assert states and not states & {"queued", "sent", "stored", "failed"}, states
    assert not re.search(r"\b(queued|stored|sent|failed) :", outbox)


async def entity_row(pages: httpx.AsyncClient, name: str) -> tuple[int, str]:
    """An entity's id and its row in the instructors' list of entities."""
    listing = shown(await pages.get("/registre/entites", params={"q": name}))
    found = re.search(
        rf'<tr>\s*<td[^>]*><a href="/registre/entite\?id=(\d+)">{name}</a>.*?</tr>', listing, re.S
    )
    assert found, f"{name} is not listed"
    return int(found.group(1)), found.group(0)


async def test_merging_an_entity_asks_for_confirmation_on_a_page_of_its_own(
    client: httpx.AsyncClient, pages: httpx.AsyncClient
) -> None:
    tag = secrets.token_hex(3).upper()
    source = await accepted_entity(client, f"SRC{tag}")
    target = await accepted_entity(client, f"DST{tag}")
    await sign_in(pages, INSTRUCTOR)
    _, row = await entity_row(pages, f"Matrice SRC{tag}")
    assert f'action="/registre/entites/{source}/fusion"' in row

    # The list's form only opens the confirmation page; it merges nothing.
    asked = await pages.get(f"/registre/entites/{source}/fusion", params={"into": target})
    assert asked.status_code == 200
    text = shown(asked)
    assert f"Matrice SRC{tag}" in text and f"Matrice DST{tag}" in text
    assert "Confirmer la fusion" in text and "Annuler" in text
    unconfirmed = await post_from(
        pages, "/registre/entites", f"/registre/entites/{source}/fusionner", {"into": target}
    )
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"].startswith(f"/registre/entites/{source}/fusion")
    _, row = await entity_row(pages, f"Matrice SRC{tag}")
    assert "Fusionnée" not in row

    confirmed = await post_from(
        pages,
        f"/registre/entites/{source}/fusion?into={target}",
        f"/registre/entites/{source}/fusionner",
        {"into": target, "confirme": "oui"},
    )
    assert confirmed.headers["location"] == "/registre/entites"
    _, row = await entity_row(pages, f"Matrice SRC{tag}")
    assert "Fusionnée" in row


async def test_only_adherent_entities_may_become_relay_partners(
    pages: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    tag = secrets.token_hex(3).upper()
    await awaiting_entity(client, f"ATT{tag}")
    await sign_in(pages, INSTRUCTOR)
    waiting, row = await entity_row(pages, f"Matrice ATT{tag}")
    assert "Faire partenaire relais" not in row
    refused = await post_from(
        pages, "/registre/entites", f"/registre/entites/{waiting}/relais", {"relay": "on"}
    )
    assert refused.status_code == 303
    assert "adhérente" in shown(await pages.get(refused.headers["location"]))
    page = shown(await pages.get(f"/registre/entite?id={waiting}"))
    assert "· partenaire relais" not in page


async def test_api_page_runs_swagger_ui_served_here_and_favicon_is_found(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/api.html")
    assert page.status_code == 200
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page.text)
    styles = re.findall(r'<link[^>]*href="([^"]+)"', page.text)
    assert scripts and all(src.startswith("/static/") for src in [*scripts, *styles])
    assert "<script>" not in page.text and "https://" not in page.text  # no inline code, no CDN
    for asset in [*scripts, *styles]:
        assert (await client.get(asset)).status_code == 200, asset
    icon = await client.get("/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_a_password_mismatch_is_said_with_the_other_errors() -> None:
    """Issue 17, point 13: the mismatch was reported only once every other field was right."""
    with pytest.raises(ValidationError) as refused:
        AccountRequest.model_validate(
            {"email": "pas-un-email", "password": "Un-Mot2passe!", "password_confirmation": "x"}
        )
    errors = field_errors(refused.value)
    assert errors["password_confirmation"] == "Les deux mots de passe ne sont pas identiques."
    assert "email" in errors and "first_name" in errors
