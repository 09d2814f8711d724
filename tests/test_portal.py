"""The portal and the registry's pages as a new user finds them (issue 17, points 10–17):
searches, lists, error pages and wording, without a browser."""

from __future__ import annotations

import html

import httpx


def shown(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def test_entity_search_finds_the_city_whatever_its_case_and_accents(
    pages: httpx.AsyncClient,
) -> None:
    for query in ("MONTPELLIER", "nimes", "NÎMES", "privé MONTPELLIER", "formation montpellier"):
        found = await pages.get("/portail", params={"q": query})
        assert found.status_code == 200
        assert "Aucune entité adhérente" not in shown(found), query
    nimes = shown(await pages.get("/portail", params={"q": "nimes"}))
    assert "Autre Collectivité" in nimes and "Formation_6_Novembre" not in nimes
