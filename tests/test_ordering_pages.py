"""The ordering desk's pages without a browser (as without JavaScript), as a new user meets
them (issue 17): starting an archive request, the archive form following its scene, the
tasking window in whole days, French labels and messages, project members, held requests."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from babel.numbers import format_decimal, format_percent

from tests.registry import INSTRUCTOR
from tests.test_ordering import (
    BRUCE,
    JANE,
    MONTPELLIER,
    act,
    commandable,
    desk,
    filed_tasking,
    headers,
    new_project,
    simulator,
)

__all__ = ["desk", "simulator"]  # the fixtures, shared with the API's tests
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def shown(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def page(http: httpx.AsyncClient, path: str, who: str = BRUCE) -> httpx.Response:
    return await http.get(path, headers=await headers(http, who))


async def form(
    http: httpx.AsyncClient, path: str, data: dict[str, Any], who: str = BRUCE
) -> httpx.Response:
    """Post a form as a browser would: with the token of a page."""
    token = CSRF.search((await page(http, "/commandes/projets/nouveau", who)).text)
    assert token
    return await http.post(
        path, data={"csrf_token": token.group(1), **data}, headers=await headers(http, who)
    )


def beside(response: httpx.Response, field: str) -> str:
    """The error shown beside a field of the form."""
    found = re.search(rf'<p class="error" id="e-{field}">([^<]*)</p>', response.text)
    return html.unescape(found.group(1)) if found else ""


# -- 1, 2, 3. starting an archive request ------------------------------------------------------


async def test_an_archive_request_starts_from_the_commandable_catalogue(
    desk: httpx.AsyncClient,
) -> None:
    home = await page(desk, "/commandes")
    assert 'href="/catalogue?type=commandable"' in home.text
    project = await new_project(desk)
    assert (
        'href="/catalogue?type=commandable"'
        in (await page(desk, f"/commandes/projets/{project}")).text
    )
    assert (await desk.get("/catalogue?type=commandable")).status_code == 200

    without = await page(desk, "/commandes/archive")
    assert without.status_code == 200, without.text
    assert "Field required" not in shown(without) and 'action="/commandes/archive"' not in (
        without.text
    )
    assert "Choisissez" in shown(without) and 'href="/catalogue?type=commandable"' in without.text

    unknown = await page(desk, "/commandes/archive?scene=inexistante")
    assert unknown.status_code == 404
    assert "inexistante" in shown(unknown) and 'action="/commandes/archive"' not in unknown.text


async def test_the_archive_form_follows_its_scene(desk: httpx.AsyncClient) -> None:
    project = await new_project(desk)
    scene = await commandable(desk, "pleiades")
    shown_form = await page(desk, f"/commandes/archive?scene={scene['id']}")
    text = shown(shown_form)
    assert shown_form.status_code == 200, text
    assert "SPOT 6/7 – archive" not in text  # the product follows from the scene
    assert "Pléiades – archive" in text
    when = datetime.fromisoformat(scene["properties"]["datetime"].replace("Z", "+00:00"))
    assert when.astimezone(UTC).strftime("/%m/%Y") in text
    assert format_percent(scene["properties"]["eo:cloud_cover"] / 100, locale="fr") in text
    quicklook = scene["assets"]["overview"]["href"].removeprefix("http://t")
    assert html.escape(quicklook) in shown_form.text

    filed = await form(
        desk, "/commandes/archive", {"scene": scene["id"], "project_id": project}
    )  # as the form sends it, the product chosen by the scene
    assert filed.status_code == 303, shown(filed)
    assert filed.headers["location"].endswith("-PLEIADES")


# -- 6. labels -----------------------------------------------------------------------------------


async def test_request_pages_show_labels_not_codes(desk: httpx.AsyncClient) -> None:
    project = await new_project(desk)
    start = datetime.now(UTC) + timedelta(days=3)
    filed = await desk.post(
        "/ordering/products/airbus-tasking-spot/orders",
        json={
            "bbox": MONTPELLIER,
            "datetime": f"{start.isoformat()}/{(start + timedelta(days=30)).isoformat()}",
            "order_parameters": {
                "project_id": project,
                "acquisition_mode": "stereo",
                "max_cloud_cover": 12,
            },
        },
        headers=await headers(desk, BRUCE),
    )
    assert filed.status_code == 201, filed.text
    order_id = filed.json()["id"]
    text = shown(await page(desk, f"/commandes/demandes/{order_id}"))
    for code in ("max_cloud_cover", "acquisition_mode", "airbus-tasking-spot"):
        assert code not in text, code
    for value in ("12bits", "ortho", "bundle", "reflectance", "stereo"):
        assert f": {value}<" not in text, value
    for label in ("Couverture nuageuse max (%) : 12", "Mode d'acquisition : Stéréo", "12 bits",
                  "Niveau de traitement : Ortho", "Réflectance", "SPOT 6/7"):  # fmt: skip
        assert label in text, label
    for listing in (f"/commandes/projets/{project}", "/commandes"):
        assert "airbus-tasking-spot" not in shown(await page(desk, listing))


# -- 7. the tasking window -----------------------------------------------------------------------


async def test_a_tasking_window_is_whole_days_in_french_time(desk: httpx.AsyncClient) -> None:
    project = await new_project(desk)
    filed = await form(
        desk,
        "/commandes/programmation",
        {
            "product_id": "airbus-tasking-spot",
            "project_id": project,
            "start": "2027-03-01",
            "end": "2027-03-31",
            **dict(zip(("west", "south", "east", "north"), map(str, MONTPELLIER), strict=True)),
        },
    )
    assert filed.status_code == 303, shown(filed)
    order_id = filed.headers["location"].rsplit("/", 1)[1]
    found = (
        await desk.get(f"/ordering/orders/{order_id}", headers=await headers(desk, BRUCE))
    ).json()
    # 1 March 00:00 in Paris (winter time) to 1 April 00:00 (summer time): the 31st included.
    assert (
        found["properties"]["search_parameters"]["datetime"]
        == "2027-02-28T23:00:00Z/2027-03-31T22:00:00Z"
    )
    text = shown(await page(desk, f"/commandes/demandes/{order_id}"))
    assert "01/03/2027 → 31/03/2027" in text


# -- 8. project members --------------------------------------------------------------------------


async def test_project_members_are_addresses_and_shown(desk: httpx.AsyncClient) -> None:
    end = (datetime.now(UTC).date() + timedelta(days=100)).isoformat()
    fields = {"title": "Zostères de Thau", "kind": "SCI", "themes": "Littoral", "end_date": end,
              "description": "Cartographie des herbiers de zostères."}  # fmt: skip
    refused = await form(
        desk, "/commandes/projets/nouveau", {**fields, "members": f"pas-un-email {JANE}"}
    )
    assert refused.status_code == 400
    assert "pas-un-email" in beside(refused, "members")
    assert "adresse" in beside(refused, "members")
    api = await desk.post(
        "/ordering/projects",
        json={**fields, "themes": ["Littoral"], "members": ["pas-un-email"]},
        headers=await headers(desk, BRUCE),
    )
    assert api.status_code == 400 and "pas-un-email" in api.text

    created = await form(desk, "/commandes/projets/nouveau", {**fields, "members": JANE.upper()})
    assert created.status_code == 303, shown(created)
    project = shown(await page(desk, created.headers["location"].removeprefix("http://t")))
    assert "Membres" in project and JANE in project


# -- 5. French messages beside each field ------------------------------------------------------


async def test_form_errors_are_french_and_beside_their_field(desk: httpx.AsyncClient) -> None:
    refused = await form(
        desk,
        "/commandes/projets/nouveau",
        {"title": "x", "kind": "XYZ", "end_date": "2001-01-01", "description": "court"},
    )
    assert refused.status_code == 400
    assert "3 caractères" in beside(refused, "title")
    assert "Type de projet" in beside(refused, "kind") or "inconnu" in beside(refused, "kind")
    assert "passé" in beside(refused, "end_date")
    assert "10 caractères" in beside(refused, "description")

    project = await new_project(desk)
    tasking = await form(
        desk,
        "/commandes/programmation",
        {"product_id": "airbus-tasking-spot", "project_id": "XYZ", "start": "2027-03-10",
         "end": "2027-03-01", "west": "4", "south": "43.5", "east": "3.8", "north": "43.6",
         "radiometric_processing": "display", "pixel_coding": "12bits"},
    )  # fmt: skip
    assert tasking.status_code == 400
    text = shown(tasking)
    for english in ("String should", "kind is one of", "The bbox", "ends before it starts",
                    "No project", "12-bit"):  # fmt: skip
        assert english not in text, english
    assert "Ouest" in beside(tasking, "west") or "ouest" in beside(tasking, "west")
    assert "avant" in beside(tasking, "end") or "après" in beside(tasking, "end")
    assert "projet" in beside(tasking, "project_id").lower()
    assert "8 bits" in beside(tasking, "pixel_coding") or "12 bits" in beside(
        tasking, "pixel_coding"
    )
    assert project


async def test_the_desks_refusals_are_french_and_beside_their_field(
    desk: httpx.AsyncClient,
) -> None:
    """An area below the product's minimum is said beside the area, a window too short beside
    its end, in French."""
    project = await new_project(desk)
    tasking = {"product_id": "airbus-tasking-pleiades", "project_id": project,
               "start": "2027-03-01", "end": "2027-03-31"}  # fmt: skip
    tiny = dict(
        zip(("west", "south", "east", "north"), ("3.87", "43.6", "3.88", "43.61"), strict=True)
    )
    small = await form(desk, "/commandes/programmation", {**tasking, **tiny})
    assert small.status_code == 400
    assert "commence à" in beside(small, "area") and "km²" in beside(small, "area")
    assert "The area" not in shown(small) and "starts at" not in shown(small)
    assert "Corrigez les champs signalés." in shown(small)

    montpellier = dict(zip(("west", "south", "east", "north"), map(str, MONTPELLIER), strict=True))
    short = await form(
        desk,
        "/commandes/programmation",
        {**tasking, **montpellier, "start": "2027-03-01", "end": "2027-03-01"},
    )
    assert short.status_code == 400
    assert "au moins 2 jours" in beside(short, "end")
    assert "tasking window" not in shown(short)


# -- 9. a request on hold is edited, then resubmitted -----------------------------------------


async def test_a_request_on_hold_is_edited_then_resubmitted(desk: httpx.AsyncClient) -> None:
    order_id = await filed_tasking(desk)
    held = await act(desk, order_id, "request-info", INSTRUCTOR, "Ajoutez le port de Sète.")
    assert held.status_code == 200
    request_page = shown(await page(desk, f"/commandes/demandes/{order_id}"))
    assert f'href="/commandes/demandes/{order_id}/modifier"' in request_page
    edit = await page(desk, f"/commandes/demandes/{order_id}/modifier")
    assert edit.status_code == 200 and 'name="west"' in edit.text
    saved = await form(
        desk,
        f"/commandes/demandes/{order_id}/modifier",
        {"west": "3.6", "south": "43.35", "east": "3.95", "north": "43.65", "start": "2027-03-01",
         "end": "2027-03-31", "max_cloud_cover": "15", "acquisition_mode": "mono",
         "comment": "Avec le port de Sète."},
    )  # fmt: skip
    assert saved.status_code == 303, shown(saved)
    found = (
        await desk.get(f"/ordering/orders/{order_id}", headers=await headers(desk, BRUCE))
    ).json()
    assert found["properties"]["status"]["status_code"] == "held"
    assert (
        found["properties"]["search_parameters"]["datetime"]
        == "2027-02-28T23:00:00Z/2027-03-31T22:00:00Z"
    )
    assert min(x for x, _ in found["geometry"]["coordinates"][0]) == 3.6
    assert (await act(desk, order_id, "resubmit", BRUCE)).status_code == 200
    refused = await page(desk, f"/commandes/demandes/{order_id}/modifier")
    assert refused.status_code == 409  # received again: only a request on hold is edited


# -- issue 16: numbers the reader's way ----------------------------------------------------------


async def test_numbers_are_written_the_readers_way(desk: httpx.AsyncClient) -> None:
    """A request's area and options on its page and in the lists, a scene's cloud cover on the
    archive form: « 134,7 km² », « 12,25 », « 12 % » in French; 134.7 km², 12.25, 12% in English."""
    project = await new_project(desk)
    start = datetime.now(UTC) + timedelta(days=3)
    filed = await desk.post(
        "/ordering/products/airbus-tasking-spot/orders",
        json={
            "bbox": MONTPELLIER,
            "datetime": f"{start.isoformat()}/{(start + timedelta(days=30)).isoformat()}",
            "order_parameters": {"project_id": project, "max_cloud_cover": 12.25},
        },
        headers=await headers(desk, BRUCE),
    )
    assert filed.status_code == 201, filed.text
    area = filed.json()["properties"]["dinamis:area_km2"]
    french_area, english_area = (
        format_decimal(area, "#,##0.#", locale=lang) for lang in ("fr", "en")
    )
    assert "," in french_area and "." in english_area
    for path in (f"/commandes/projets/{project}", f"/commandes/demandes/{filed.json()['id']}"):
        french = shown(await page(desk, path))
        english = shown(await desk.get(path, headers={**await headers(desk, BRUCE), **ENGLISH}))
        assert f"{french_area} km²" in french and f"{english_area} km²" in english, path
    assert "(%) : 12,25<" in french and "(%) : 12.25<" in english  # as typed

    scene = await commandable(desk, "pleiades")
    cloud_cover = scene["properties"]["eo:cloud_cover"] / 100
    archive = f"/commandes/archive?scene={scene['id']}"
    french = shown(await page(desk, archive))
    english = shown(await desk.get(archive, headers={**await headers(desk, BRUCE), **ENGLISH}))
    assert f"nuages {format_percent(cloud_cover, locale='fr')}" in french
    assert f"clouds {format_percent(cloud_cover, locale='en')}" in english
