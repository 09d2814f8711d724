"""The catalogue viewer in headless Chromium against a live `dinamis serve`, as people use it
after `make run`: anonymously and signed in, in French and in English, at desktop and phone
sizes. Each test writes its screenshots to `build/screenshots/viewer/` (DINAMIS_SCREENSHOTS)."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Request, expect

from tests.registry import DEMO_PASSWORD
from tests.test_registry_browser import browser

__all__ = ["browser"]
expect.set_options(timeout=15_000)  # 2 cores on CI, a search at a time
ROOT = Path(__file__).parents[1]
SHOTS = Path(os.environ.get("DINAMIS_SCREENSHOTS", ROOT / "build" / "screenshots" / "viewer"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
STATIC = ROOT / "extensions" / "viewer" / "static"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
BRUCE = "bruce.wayne@formation.example"
"""Signed in: his entity holds every licence, so he may download any held scene."""


class Viewer:
    """A tab on the viewer that records what would make it fail: console errors, page
    errors, and any request to another host than the product's."""

    def __init__(self, browser: Browser, live_url: str, size: dict[str, int], locale: str) -> None:
        self.base = live_url.rstrip("/")
        self.context = browser.new_context(base_url=self.base, viewport=size, locale=locale)
        self.context.grant_permissions(["clipboard-read", "clipboard-write"])
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.errors: list[str] = []
        self.elsewhere: list[str] = []
        self.page.on("console", self.console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("request", self.request)

    def console(self, message: Any) -> None:
        if message.type == "error" and "expected" not in message.text:
            self.errors.append(message.text)

    def request(self, request: Request) -> None:
        host = urlsplit(request.url).netloc
        if request.url.startswith(("http://", "https://")) and host != urlsplit(self.base).netloc:
            self.elsewhere.append(request.url)

    def open(self, query: str = "") -> Page:
        self.page.goto(f"/catalogue{query}")
        expect(self.page.get_by_test_id("total")).not_to_have_text("…")
        return self.page

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SHOTS / f"{name}.png")

    def state(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.page.url).query)

    def settled(self, in_url: str) -> int:
        """The number of results once the address holds `in_url` and the search is done."""
        self.page.wait_for_function("part => location.search.includes(part)", arg=in_url)
        expect(self.page.locator(".results .loading")).to_have_count(0)
        expect(self.page.get_by_test_id("total")).not_to_have_text("…")
        return self.total()

    def total(self) -> int:
        return int(re.sub(r"\D", "", self.page.get_by_test_id("total").inner_text()))

    def close(self) -> None:
        try:
            assert self.errors == [], self.errors
            assert self.elsewhere == [], f"requests to other hosts: {self.elsewhere[:5]}"
        finally:
            self.context.close()


@pytest.fixture
def viewer(browser: Browser, live_url: str) -> Iterator[Viewer]:
    tab = Viewer(browser, live_url, DESKTOP, "fr-FR")
    yield tab
    tab.close()


def sign_in_from_the_viewer(page: Page, email: str) -> None:
    page.get_by_role("link", name="Connexion").click()
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_test_id("total")).not_to_have_text("…")


# -- 1. where ------------------------------------------------------------------------------


def test_the_base_url_opens_the_viewer_in_french_then_english(viewer: Viewer) -> None:
    page = viewer.page
    page.goto("/")
    expect(page.get_by_role("heading", name=re.compile("Résultats"))).to_be_visible()
    expect(page.get_by_role("group", name="Type de produits")).to_be_visible()
    viewer.shot("1-landing-fr")
    page.get_by_role("link", name="English version").click()
    expect(page.get_by_role("heading", name=re.compile("Results"))).to_be_visible()
    expect(page.get_by_text("Satellite missions")).to_be_visible()
    viewer.shot("1-landing-en")
    page.get_by_role("link", name="Portal").click()
    page.get_by_role("link", name="Catalogue", exact=True).first.click()
    expect(page.get_by_role("heading", name=re.compile("Results"))).to_be_visible()


# -- 2. map --------------------------------------------------------------------------------


def test_the_map_works_offline_with_its_controls(viewer: Viewer) -> None:
    basemap_tiles: list[str] = []
    viewer.page.on(
        "response", lambda r: "/basemap/" in r.url and basemap_tiles.append(str(r.status))
    )
    page = viewer.open("?map=5/46.5/2.5")
    for control in ("Zoom avant", "Zoom arrière", "Réorienter vers le nord"):
        expect(page.get_by_role("button", name=control)).to_be_visible()
    expect(page.locator(".maplibregl-ctrl-scale")).to_contain_text("km")
    page.get_by_role("button", name="Zoom avant").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('map')?.startsWith('6')")
    assert basemap_tiles and set(basemap_tiles) == {"200"}
    options = page.get_by_label("Fond de carte").locator("option").all_inner_texts()
    assert options[0] == "Contours (hors ligne)" and {"OpenStreetMap", "IGN Plan"} <= set(options)
    viewer.shot("2-map-offline")


# -- 3, 4. filters, breadcrumb, URL --------------------------------------------------------


def test_filters_breadcrumb_and_the_url_follow_each_other(viewer: Viewer) -> None:
    page = viewer.open()
    everything = viewer.total()
    page.get_by_text("Téléchargeable", exact=True).click()
    held = viewer.settled("type=downloadable")
    assert held < everything
    page.get_by_role("button", name="Inclure SPOT 6").click()
    spot6 = viewer.settled("include=spot-6")
    assert spot6 < held
    count = page.locator(".platform", has_text="SPOT 6").locator(".count")
    assert int(re.sub(r"\D", "", count.get_attribute("title") or "")) == spot6
    page.get_by_role("button", name="Exclure SPOT 7").click()  # no effect beside an include
    page.get_by_label("Lieu : un pays").fill("herau")
    page.locator("#place-list").get_by_role(
        "option", name=re.compile("^Hérault département")
    ).click()
    in_herault = viewer.settled("place=departement%3A34")
    assert in_herault <= spot6
    page.get_by_role("slider", name="Couverture nuageuse").fill("20")
    assert viewer.settled("cloud=20") <= in_herault
    chips = page.get_by_role("navigation", name="Fil d'Ariane de la recherche")
    expect(chips.get_by_role("listitem")).to_have_count(5)
    viewer.shot("3-filters")

    url = page.url
    filtered = viewer.total()
    page.reload()
    expect(chips.get_by_role("listitem")).to_have_count(5)
    assert viewer.settled("cloud=20") == filtered
    chips.get_by_role("button", name=re.compile("Retirer le filtre Lieu")).click()
    expect(chips.get_by_role("listitem")).to_have_count(4)
    page.wait_for_function("() => !location.search.includes('place=')")
    page.go_back()
    expect(chips.get_by_role("listitem")).to_have_count(5)
    assert viewer.state()["place"] == ["departement:34"]
    assert viewer.settled("place=") == filtered
    assert page.url == url
    chips.get_by_role("button", name="Tout effacer").click()
    expect(page.get_by_text("Aucun filtre : tout le catalogue.")).to_be_visible()
    page.wait_for_function("() => !location.search.includes('type=')")
    assert viewer.settled("") == everything


def test_the_timeline_sets_the_period_and_presets_are_one_click(viewer: Viewer) -> None:
    page = viewer.open()
    everything = viewer.total()
    page.get_by_role("slider", name="Début de la période").fill("300")
    later = viewer.settled("from=")
    assert later < everything
    assert viewer.state()["from"][0] > "2000-01-01"
    bars = page.locator(".histogram rect.in").count()
    assert 0 < bars < page.locator(".histogram rect").count()
    page.get_by_role("button", name="Dernière année").click()
    expect(page.locator(".chip").filter(has_text="→")).to_be_visible()
    viewer.shot("3-timeline")


def test_the_number_of_results_says_its_sources_as_the_timeline_counts_them(
    viewer: Viewer,
) -> None:
    """The number counts the Airbus archive, which gives no dates by month: it says how many
    of its results are held here, the scenes the timeline counts, and how many are Airbus's."""
    page = viewer.open()
    sources = page.get_by_test_id("sources")
    expect(sources).to_contain_text("dans l'archive Airbus")
    held, archived = (int(re.sub(r"\D", "", n)) for n in sources.inner_text().split("·"))
    assert held > 0 and archived > 0 and held + archived == viewer.total()
    timeline = int(re.sub(r"\D", "", page.get_by_test_id("timeline-total").inner_text()))
    assert timeline == held
    viewer.shot("4-sources-of-the-count")


def test_areas_are_drawn_imported_and_deleted(viewer: Viewer, tmp_path: Path) -> None:
    page = viewer.open("?map=6/43.6/3.9")
    everything = viewer.total()
    page.get_by_role("button", name="Rectangle").click()
    box = page.locator(".map canvas").bounding_box()
    assert box
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 60, y - 40)
    page.mouse.down()
    page.mouse.move(x + 60, y + 40, steps=6)
    page.mouse.up()
    drawn = viewer.settled("area=")
    assert drawn < everything
    assert json.loads(viewer.state()["area"][0])["type"] == "Polygon"
    viewer.shot("3-area-rectangle")

    area = tmp_path / "zone.geojson"
    area.write_text(
        json.dumps(
            {
                "type": "Polygon",
                "coordinates": [[[3.7, 43.5], [4.0, 43.5], [4.0, 43.7], [3.7, 43.5]]],
            }
        )
    )
    page.locator("input[type=file]").set_input_files(area)
    expect(page.locator(".chip").filter(has_text="zone.geojson")).to_be_visible()
    assert viewer.settled("areaName=zone.geojson") != drawn

    bad = tmp_path / "pas-une-zone.geojson"
    bad.write_text("{ ceci n'est pas du GeoJSON")
    page.locator("input[type=file]").set_input_files(bad)
    expect(page.get_by_role("alert")).to_contain_text("pas-une-zone.geojson")
    expect(page.locator(".chip").filter(has_text="zone.geojson")).to_be_visible()  # kept
    viewer.errors.remove(
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    )

    page.get_by_role("button", name="Effacer", exact=True).click()
    expect(page.get_by_text("Aucun filtre : tout le catalogue.")).to_be_visible()


# -- 5. footprints -------------------------------------------------------------------------


def overlapped_point(live_url: str) -> tuple[float, float]:
    """A point under several footprints of downloadable SPOT 6 scenes."""
    api = live_url.rstrip("/")
    body = {"collections": ["spot67"], "limit": 100, "fields": {"include": ["bbox"]}}
    for item in httpx.post(f"{api}/search", json=body, timeout=30).json()["features"]:
        west, south, east, north = item["bbox"]
        point = ((west + east) / 2, (south + north) / 2)
        under = {"intersects": {"type": "Point", "coordinates": point}, "limit": 1}
        under |= {"filter": {"op": "=", "args": [{"property": "platform"}, "spot-6"]}}
        if httpx.post(f"{api}/search", json=under, timeout=30).json()["numberMatched"] >= 3:
            return point
    raise AssertionError("no overlapping SPOT 6 footprints in the test archive")


def test_footprint_tiles_carry_the_search_and_the_map_picks_among_them(
    viewer: Viewer, live_url: str
) -> None:
    tiles: list[str] = []
    viewer.page.on("request", lambda r: "/footprints/" in r.url and tiles.append(r.url))
    lon, lat = overlapped_point(live_url)
    page = viewer.open(f"?type=downloadable&include=spot-6&map=10/{lat}/{lon}")
    expect(page.locator(".map[data-idle=true]")).to_be_visible()  # every tile drawn
    assert tiles
    searched = parse_qs(urlsplit(tiles[-1]).query)
    assert searched["product_type"] == ["downloadable"]
    assert "spot-6" in searched["filter"][0]
    box = page.locator(".map canvas").bounding_box()
    assert box
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)
    expect(page.locator("table.list tr.hovered")).to_have_count(1)  # its row, if on the page
    page.mouse.click(*centre)
    pick = page.get_by_role("dialog", name="Scènes sous le clic")
    expect(pick).to_be_visible()
    assert pick.get_by_role("listitem").count() >= 3
    viewer.shot("5-pick-among-footprints")
    pick.get_by_role("listitem").first.get_by_role("button").click()
    expect(page.get_by_role("dialog").filter(has_text="SPOT 6")).to_be_visible()


# -- 6. results ----------------------------------------------------------------------------


def test_results_list_sort_scroll_quicklooks_and_details(viewer: Viewer) -> None:
    page = viewer.open("?type=downloadable")
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Nuage %").click()
    viewer.settled("sort=eo%3Acloud_cover")
    expect(rows.first.locator("td").nth(3)).to_have_text("0 %")
    page.locator(".more button").scroll_into_view_if_needed()
    expect(rows).to_have_count(100)
    page.get_by_role("button", name="Vignettes").click()
    expect(page.locator(".thumbs img").first).to_be_visible()
    viewer.shot("6-quicklooks")
    page.locator(".thumbs button").first.click()
    details = page.get_by_role("dialog").first
    expect(details.get_by_text("eo:cloud_cover")).to_be_visible()
    expect(details.get_by_role("link", name="Notice STAC (JSON)")).to_be_visible()
    expect(details.get_by_role("note")).to_contain_text("Connectez-vous")
    details.get_by_role("button", name="Voir l'aperçu en plein écran").click()
    expect(page.get_by_role("dialog", name="Aperçu en plein écran")).to_be_visible()
    viewer.shot("6-quicklook-full-screen")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Aperçu en plein écran")).to_be_hidden()


@pytest.fixture
def phone(browser: Browser, live_url: str) -> Iterator[Viewer]:
    tab = Viewer(browser, live_url, PHONE, "fr-FR")
    yield tab
    tab.close()


def test_on_a_phone_every_result_is_read_without_scrolling_sideways(phone: Viewer) -> None:
    """The widest results (a badge, the zone's share) used to lose their last columns."""
    page = phone.open("?type=commandable&place=commune:34172")
    row = page.locator("table.list tbody tr").first
    expect(row.locator("td")).to_have_count(6)  # the zone's share too
    row.scroll_into_view_if_needed()
    for cell in (2, 3, 4, 5):  # date, cloud, angle, zone
        expect(row.locator("td").nth(cell)).to_be_in_viewport(ratio=1)
    expect(row.locator("td").nth(4)).to_contain_text(re.compile(r"\d+°"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.shot("6-phone-results")


def highlighted_pixels(png: bytes) -> int:
    """Pixels of the opened scene's colour (#f2b400, its outline and its light fill)."""
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(
        1 for r, g, b in picture.get_flattened_data() if r > 200 and 130 < g < 215 and b < 120
    )


def test_on_a_phone_an_opened_scene_leaves_its_footprint_in_sight(phone: Viewer) -> None:
    """The details used to cover the whole screen: they are a sheet over the lower half, the
    map above it shows the scene's footprint; closing them goes back to the results."""
    page = phone.open("?type=downloadable&include=spot-6")
    expect(page.locator(".map[data-idle=true]")).to_be_visible()
    opener = page.locator("table.list tbody tr button.link").nth(12)
    opener.scroll_into_view_if_needed()
    scrolled = page.evaluate("scrollY")
    assert scrolled > 0, "the results are below the map"
    view = phone.state().get("map", [""])[0]
    opener.click()
    details = page.get_by_role("dialog").first
    expect(details).to_be_visible()
    page.wait_for_function(
        "v => (new URLSearchParams(location.search).get('map') || '') !== v", arg=view
    )
    expect(page.locator(".map[data-idle=true]")).to_be_visible()
    sheet, map_box = details.bounding_box(), page.locator(".map").bounding_box()
    assert sheet and map_box and sheet["y"] >= PHONE["height"] * 0.45
    top, bottom = max(map_box["y"], 0), min(map_box["y"] + map_box["height"], sheet["y"])
    assert bottom - top >= PHONE["height"] * 0.3, "the map is in sight above the sheet"
    seen = page.screenshot(clip={"x": 0, "y": top, "width": PHONE["width"], "height": bottom - top})
    assert highlighted_pixels(seen) > 300
    phone.shot("6-phone-details")
    details.get_by_role("button", name="Fermer").click()
    expect(details).to_be_hidden()
    expect(opener).to_be_focused()
    assert page.evaluate("scrollY") == scrolled


# -- 7. signed in --------------------------------------------------------------------------


def test_signed_in_download_copy_preview_and_basket(viewer: Viewer) -> None:
    page = viewer.open("?type=downloadable&include=spot-6")
    sign_in_from_the_viewer(page, BRUCE)
    expect(page.locator(".bar .who")).to_have_text("Bruce Wayne")
    assert viewer.state()["include"] == ["spot-6"]  # back to the same search
    page.locator("table.list tbody tr button.link").first.click()
    details = page.get_by_role("dialog").first
    download = details.get_by_role("link", name="Télécharger")
    expect(download).to_have_attribute("href", re.compile(r"/assets/.*[?&]sig="))
    details.get_by_role("button", name="Copier pour QGIS / GDAL").click()
    expect(page.get_by_role("status").filter(has_text="copié")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("/vsicurl/http") and "&sig=" in copied
    expect(details.locator(".gdal code")).to_have_text(copied)
    with page.expect_response(lambda r: "/tiles/WebMercatorQuad/" in r.url) as tile:
        details.get_by_role("button", name="Aperçu sur la carte").click()
    assert tile.value.status == 200  # the image, through the gated tiles
    details.get_by_role("button", name="Ajouter au panier").click()
    expect(page.get_by_role("region", name=re.compile("Panier"))).to_be_visible()
    viewer.shot("7-signed-in-details")
    details.get_by_role("button", name="Fermer").click()
    with page.expect_download() as script:
        page.get_by_role("button", name="Script de téléchargement").click()
    text = Path(script.value.path()).read_text()
    assert "curl -fL --retry 3 -C -" in text and "&sig=" in text


def test_commandable_scenes_are_ordered_together(viewer: Viewer) -> None:
    # One archive request orders scenes of one product: two SPOT 6/7 scenes.
    page = viewer.open("?type=commandable&place=commune:34172&include=spot-6,spot-7")
    sign_in_from_the_viewer(page, BRUCE)
    boxes = page.locator("table.list tbody tr input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    ids = [page.locator("table.list tbody tr").nth(i).get_attribute("data-id") for i in (0, 1)]
    viewer.shot("7-commandable-selection")
    page.get_by_role("button", name="Commander la sélection").click()
    expect(page.get_by_role("heading", name="Demande d'archive")).to_be_visible()
    assert parse_qs(urlsplit(page.url).query)["scene"] == ids


# -- 8, 9. quality -------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["viewer", "aoi"])
def test_what_each_page_ships_stays_small(page: str) -> None:
    """The viewer's bundle, and the ordering forms' map (MapLibre again, in its own)."""
    shipped = sum(
        len(gzip.compress((STATIC / f"{page}{suffix}").read_bytes(), 9))
        for suffix in (".js", ".css")
    )
    assert shipped <= 450 * 1024, f"{shipped / 1024:.0f} KB gzipped"


@pytest.mark.parametrize(
    ("size", "locale"), [(DESKTOP, "fr-FR"), (PHONE, "fr-FR"), (PHONE, "en-GB")]
)
def test_no_serious_accessibility_violation(
    browser: Browser, live_url: str, size: dict[str, int], locale: str
) -> None:
    tab = Viewer(browser, live_url, size, locale)
    # An init script, as the page's CSP refuses an inline one.
    tab.page.add_init_script(path=str(AXE))
    try:
        page = tab.open()
        if size == PHONE:
            page.get_by_role("button", name=re.compile("Filtres|Filters")).click()
        tab.shot(f"8-{size['width']}-{locale}")
        result = page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        serious = [
            (v["id"], v["help"], [n["target"] for n in v["nodes"][:3]])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == []
    finally:
        tab.close()


# -- bad input and failures ----------------------------------------------------------------


def test_bad_urls_places_and_failures_are_told_and_the_rest_works(viewer: Viewer) -> None:
    page = viewer.open("?type=tout&from=hier&cloud=300&area=%7Bnope")
    expect(page.get_by_role("alert")).to_contain_text("type, area, from, cloud")
    assert viewer.total() > 0
    page.get_by_label("Lieu : un pays").fill("xqzw-zzqq")
    page.get_by_label("Lieu : un pays").press("Enter")
    expect(page.get_by_role("alert").filter(has_text="Aucun lieu ne correspond")).to_be_visible()
    # The counts' service fails: the message says so, the results still come.
    page.route("**/aggregate", lambda route: route.fulfill(status=503, body="{}"))
    page.get_by_text("Commandable", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="indisponible (503)")).to_be_visible()
    expect(page.locator("table.list tbody tr").first).to_be_visible()
    # The Airbus archive does not answer: the search says so, nothing pretends "no results".
    airbus_down = {"code": "UpstreamTimeout", "description": "The Airbus archive did not answer."}
    page.route("**/search", lambda route: route.fulfill(status=504, json=airbus_down))
    page.get_by_text("PWH", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="did not answer")).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text("—")
    page.unroute("**/search")
    page.unroute("**/aggregate")
    page.get_by_text("Tous", exact=True).click()
    expect(page.get_by_test_id("total")).to_have_text(re.compile(r"\d"))
    viewer.errors.clear()  # the browser logs the refused requests


# -- 9. beyond: coverage of my area, swipe -------------------------------------------------


def test_coverage_of_my_area(viewer: Viewer) -> None:
    page = viewer.open("?type=downloadable&place=commune:34172")
    expect(page.locator(".chip").filter(has_text="Lieu : Montpellier")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Zone %")).to_be_visible()
    expect(page.locator("table.list tbody tr").first.locator("td").last).to_have_text(
        re.compile(r"^\d+ %$")
    )
    page.get_by_role("button", name="Couvrir ma zone").click()
    panel = page.get_by_role("region", name="Couverture de ma zone")
    expect(panel.get_by_role("status")).to_contain_text(
        re.compile(r"(scènes couvrent|scène couvre) [\d.]+ %")
    )
    assert panel.get_by_role("listitem").count() >= 1
    viewer.shot("9-coverage-of-my-area")
    panel.get_by_role("button", name="Tout mettre au panier").click()
    expect(page.get_by_role("heading", name=re.compile(r"Panier \(\d+\)"))).to_be_visible()


def test_two_downloadable_scenes_compared_with_a_swipe(viewer: Viewer) -> None:
    page = viewer.open("?type=downloadable&include=spot-6")
    sign_in_from_the_viewer(page, BRUCE)
    rows = page.locator("table.list tbody tr button.link")
    rows.nth(0).click()
    page.get_by_role("button", name="Comparer (balayage)").click()
    expect(page.get_by_role("status").filter(has_text="Scène de gauche choisie")).to_be_visible()
    page.get_by_role("button", name="Fermer", exact=True).click()
    rows.nth(1).click()
    page.get_by_role("button", name="Comparer avec la scène de gauche").click()
    swipe = page.get_by_role("region", name="Comparaison de deux scènes")
    expect(swipe).to_be_visible()
    swipe.get_by_role("slider", name="Position du balayage").fill("30")
    cut = swipe.locator(".swipe-map").nth(1)
    expect(cut).to_have_attribute(
        "style", re.compile(r"inset\(0px 0px 0px 30%\)|inset\(0 0 0 30%\)")
    )
    expect(swipe.locator(".swipe-map[data-idle=true]")).to_have_count(2)
    viewer.shot("9-swipe")
    swipe.get_by_role("button", name="Fermer la comparaison").click()
    expect(swipe).to_be_hidden()
