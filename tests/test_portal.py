"""The portal and the registry's pages as a new user finds them (issue 17, points 10–17):
searches, lists, error pages and wording, without a browser."""

from __future__ import annotations

import html

import httpx

from registry_plugin.vocabulary import countries


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


def test_countries_sort_in_french_with_accented_names_among_the_others() -> None:
    names = countries()
    assert names[0] == "France"
    assert names.index("Égypte") < names.index("Équateur") < names.index("Espagne")
    assert names.index("Espagne") < names.index("États-Unis") < names.index("Éthiopie")
    assert names.index("Éthiopie") < names.index("Finlande") < names.index("Zimbabwe")
    assert names[-1] == "Zimbabwe"
