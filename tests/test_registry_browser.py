"""The registry's pages in headless Chromium against a live `dinamis serve`, as a new user
walks them after `make run`: mails are read in the development mailbox."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import chromium
from tests.registry import DEMO_PASSWORD, FORMATION_RD, INSTRUCTOR, PASSWORD, pdf

RELAY = "relais@pigma.example"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, live_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_url.rstrip("/"), locale="fr-FR")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def address(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}@exemple.fr"


def mailed_link(page: Page, to: str, path: str) -> str:
    """Open the development mailbox and take the newest link to `path` mailed to `to`."""
    page.goto(f"/portail/courriels?a={quote(to)}")
    href = page.locator(f"pre.mail a[href*='{path}']").first.get_attribute("href")
    assert href, f"no {path} link mailed to {to}"
    return href


def click(page: Page, label: str) -> None:
    page.get_by_role("button", name=label).click()


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Signs in on the page in the browser's language (its fields found by their names)."""
    page.goto("/connexion")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").first.click()
    expect(page.locator("header .who")).to_be_visible()


def sign_out(page: Page) -> None:
    click(page, "Déconnexion")
    expect(page.get_by_role("link", name="Connexion")).to_be_visible()


def verify(page: Page, email: str) -> None:
    page.get_by_label("Saisissez votre adresse email").fill(email)
    click(page, "Vérifier l'e-mail")
    expect(page.get_by_role("heading", name="Consultez vos mails")).to_be_visible()
    page.goto(mailed_link(page, email, "/portail/verification/"))
    expect(page.get_by_text(f"{email} est valide")).to_be_visible()
    click(page, "Poursuivre")


def fill_entity(page: Page, name: str) -> None:
    page.get_by_label("Acronyme/Nom court de l'Entité").fill(name[:12])
    page.get_by_label("Nom complet de l'Entité").fill(name)
    page.get_by_label("Nationalité de l'Entité").select_option("France")
    page.get_by_label("Adresse de l'Entité").fill("500 Rue Jean-François Breton")
    page.get_by_label("Code Postal").fill("34090")
    page.get_by_label("Ville").fill("Montpellier")
    click(page, "Poursuivre")


def fill_sector(page: Page, sector: str, category: str) -> None:
    page.get_by_label("Domaine d'intérêt").select_option("Aménagement du Territoire")
    page.get_by_label("Secteur d'activité").select_option(sector)
    page.get_by_label("Type de secteur").select_option(category)
    page.get_by_label("Type d'entité").fill("Communes")
    click(page, "Poursuivre")


def fill_legal_representative(page: Page, email: str) -> None:
    page.get_by_label("Prénom").fill("John")
    page.get_by_role("textbox", name="Nom", exact=True).fill("Doe")
    page.get_by_label("Fonction").fill("Directeur")
    page.get_by_label("Email professionnel").fill(email)
    page.get_by_label("Confirmation email").fill(email)
    page.get_by_label("Nationalité").select_option("France")
    click(page, "Poursuivre")


def fill_referent(page: Page) -> None:
    page.get_by_role("link", name="Utiliser les coordonnées du représentant légal").click()
    expect(page.get_by_label("Prénom")).to_have_value("John")
    page.get_by_label("Prénom").fill("Jane")
    page.get_by_label("Fonction").fill("géomaticienne")
    page.get_by_label("Téléphone").fill("061234556")
    page.get_by_role("textbox", name="Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmation mot de passe").fill(PASSWORD)
    click(page, "Poursuivre")


def rl_validates(page: Page, rl_email: str, entity: str) -> None:
    page.goto(mailed_link(page, rl_email, "/portail/adhesion/validation/"))
    expect(page.get_by_text("Bonjour John Doe")).to_be_visible()
    expect(page.get_by_text(entity).first).to_be_visible()
    button = page.get_by_role("button", name="Valider électroniquement l'acte d'adhésion")
    boxes = page.locator("input[type=checkbox][data-required]")
    assert boxes.count() == 5  # charter, SPOT 6/7, Pléiades CAT1, PWH, Pléiades Néo
    expect(button).to_be_disabled()
    for index in range(boxes.count() - 1):
        boxes.nth(index).check()
    expect(button).to_be_disabled()  # every document must be ticked
    boxes.last.check()
    expect(button).to_be_enabled()
    button.click()
    expect(page.get_by_role("heading", name="Validation électronique enregistrée")).to_be_visible()


def test_public_adhesion_rl_validation_and_instruction(page: Page) -> None:
    referent, rl_email = address("referent"), address("rl")
    entity = f"Commune test {secrets.token_hex(3)}"
    page.goto("/portail")
    page.get_by_role("link", name="Demande d'adhésion d'une nouvelle Entité").click()
    verify(page, referent)

    expect(page.get_by_role("heading", name="1 - Rappel")).to_be_visible()
    expect(page.get_by_text("Collectivités territoriales")).to_be_visible()
    click(page, "Poursuivre")

    # A wrong postal code is said next to its field, and the values typed are kept.
    page.get_by_label("Code Postal").fill("340")
    page.get_by_label("Acronyme/Nom court de l'Entité").fill("TEST")
    click(page, "Poursuivre")
    expect(page.locator("#e-postal_code")).to_contain_text("5 chiffres")
    expect(page.locator("#e-name")).to_contain_text("obligatoire")
    expect(page.get_by_label("Acronyme/Nom court de l'Entité")).to_have_value("TEST")
    fill_entity(page, entity)
    fill_sector(page, "public", "local_authority")
    fill_legal_representative(page, rl_email)
    fill_referent(page)

    expect(page.get_by_role("heading", name="6 - Soumettre")).to_be_visible()
    expect(page.get_by_text(rl_email)).to_be_visible()
    click(page, "Accepter le formulaire")
    expect(page.get_by_text("Votre demande a bien été prise en compte")).to_be_visible()
    expect(page.get_by_text(rl_email)).to_be_visible()

    rl_validates(page, rl_email, entity)

    sign_in(page, INSTRUCTOR)
    page.goto("/registre/instruction")
    row = page.get_by_role("row").filter(has_text=entity)
    row.get_by_role("link", name="Instruire").click()
    click(page, "Accepter l'adhésion")
    expect(page.get_by_text("acceptée : l'acte d'adhésion est envoyé")).to_be_visible()
    expect(page.get_by_role("link", name="Acte d'adhésion (PDF)")).to_be_visible()
    sign_out(page)

    sign_in(page, referent, PASSWORD)
    expect(page.get_by_text(entity).first).to_be_visible()


def test_account_creation_and_validation_by_the_referent(page: Page) -> None:
    user = address("user")
    page.goto("/portail")
    page.get_by_placeholder("Rechercher une entité...").fill("formation 6 novembre")
    page.get_by_role("button", name="Rechercher").click()
    row = page.get_by_role("row").filter(has_text="Formation_6_Novembre")
    row.get_by_role("link", name="Créer un compte").click()
    expect(
        page.get_by_text("Nouveau compte DINAMIS pour l'entité : Formation_6_Novembre")
    ).to_be_visible()
    verify(page, user)

    expect(page.get_by_label("Email professionnel")).to_have_value(user)
    page.get_by_label("Prénom").fill("Bruce")
    page.get_by_role("textbox", name="Nom", exact=True).fill("Wayne")
    page.get_by_label("Fonction").fill("Agence spatiale de Gotham")
    page.get_by_label("Téléphone").fill("06")
    page.get_by_role("textbox", name="Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmation mot de passe").fill("Autre#Mot2Passe")
    page.get_by_label("Licence SPOT 6/7 — Je certifie").check()
    click(page, "Envoyer votre demande d'inscription")
    expect(page.locator("#e-password_confirmation")).to_contain_text("pas identiques")
    expect(page.get_by_label("Licence SPOT 6/7 — Je certifie")).to_be_checked()
    page.get_by_role("textbox", name="Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmation mot de passe").fill(PASSWORD)
    page.get_by_label("Téléphone").fill("06 12 34 56 78")
    click(page, "Envoyer votre demande d'inscription")
    expect(page.get_by_role("heading", name="Demande d'inscription envoyée")).to_be_visible()

    # Pending, the account cannot sign in, and the page says why.
    page.goto("/connexion")
    page.get_by_label("Adresse e-mail").fill(user)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    click(page, "Se connecter")
    expect(page.get_by_role("alert")).to_contain_text("attend la validation")

    sign_in(page, FORMATION_RD)
    page.get_by_role("link", name="Mon entité", exact=True).click()
    action = page.locator("article.pending-action").filter(has_text=user)
    expect(action.get_by_role("heading")).to_contain_text("Valider Compte : Bruce Wayne")
    action.get_by_label("Date d'expiration (facultatif)").fill("2030-12-31")
    action.get_by_role("button", name="Valider le compte").click()
    expect(page.get_by_role("status")).to_contain_text("Compte de Bruce Wayne validé")
    member = page.get_by_role("row").filter(has_text=user)
    expect(member).to_contain_text("Actif")
    expect(member).to_contain_text("31/12/2030")
    sign_out(page)

    sign_in(page, user, PASSWORD)
    expect(page.get_by_role("heading", name="Bruce Wayne")).to_be_visible()
    page.get_by_label("Nom de la nouvelle clé").fill("QGIS")
    click(page, "Créer une clé")
    expect(page.locator("#new-key")).to_contain_text("dnk_")


def test_private_rd_adhesion_uploads_its_description(page: Page, tmp_path: Path) -> None:
    referent, rl_email = address("rd"), address("rl")
    page.goto("/portail/verification?demarche=adhesion")
    verify(page, referent)
    click(page, "Poursuivre")
    fill_entity(page, f"Start-up R&D {secrets.token_hex(3)}")
    fill_sector(page, "private", "private_rd")

    expect(page.get_by_role("heading", name="4 - Mission de l'Entité")).to_be_visible()
    page.get_by_label("Titre de la mission").fill("MaMission")
    page.get_by_role("textbox", name="Début", exact=True).fill("2025-10-28")
    page.get_by_role("textbox", name="Fin", exact=True).fill("2026-10-01")
    for side, value in {
        "NORD": "43.7129",
        "SUD": "43.504",
        "OUEST": "3.6872",
        "EST": "4.0313",
    }.items():
        page.get_by_role("spinbutton", name=side, exact=True).fill(value)
    page.get_by_role("checkbox", name="SPOT 6/7", exact=True).check()
    page.get_by_label("Début SPOT 6/7").fill("2020-01-01")
    page.get_by_label("Fin SPOT 6/7").fill("2022-12-31")
    not_pdf = tmp_path / "projet.pdf"
    not_pdf.write_text("<html>not a pdf</html>")
    page.get_by_label("Importer un fichier de description").set_input_files(not_pdf)
    click(page, "Poursuivre")
    expect(page.locator("#e-description")).to_contain_text("doit être un PDF")
    description = tmp_path / "MonProjetRD.pdf"
    description.write_bytes(pdf())
    page.get_by_label("Importer un fichier de description").set_input_files(description)
    click(page, "Poursuivre")

    fill_legal_representative(page, rl_email)
    fill_referent(page)
    expect(page.get_by_text("MonProjetRD.pdf")).to_be_visible()
    expect(page.get_by_text("SPOT 6/7 : 01/01/2020 – 31/12/2022")).to_be_visible()
    click(page, "Accepter le formulaire")
    expect(page.get_by_text("Votre demande a bien été prise en compte")).to_be_visible()


@pytest.mark.parametrize(
    ("email", "paths"),
    [
        pytest.param(INSTRUCTOR, ["/registre/statistiques"], id="instructor"),
        pytest.param(RELAY, ["/registre/relais", "/registre/statistiques"], id="relay"),
    ],
)
def test_statistics_and_relay_activity_fit_a_phone(
    browser: Browser, live_url: str, email: str, paths: list[str]
) -> None:
    """At 390 px, in French and in English, nothing is wider than the screen (no sideways
    scrolling) and the charts take the card's width with labels drawn at a readable size."""
    context = browser.new_context(
        base_url=live_url.rstrip("/"), viewport={"width": 390, "height": 844}, locale="fr-FR"
    )
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    sign_in(tab, email)
    for lang in ("fr", "en"):
        # The cookie, not `?lang=`: the demo account's stored language stays French.
        context.add_cookies([{"name": "dinamis_lang", "value": lang, "url": live_url}])
        for path in paths:
            tab.goto(path)
            expect(tab.locator("html")).to_have_attribute("lang", lang)
            wide, screen = tab.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            assert wide <= screen, f"{path} ({lang}) is {wide} px wide on a {screen} px phone"
            charts = tab.evaluate(
                "[...document.querySelectorAll('figure.chart > svg')].map(s => "
                "[s.getBoundingClientRect().width, s.parentElement.getBoundingClientRect().width,"
                " Math.min(...[...s.querySelectorAll('text')].map("
                "t => t.getBoundingClientRect().height))])"
            )
            assert charts, f"{path} draws no chart"
            for width, room, text in charts:
                assert width >= room - 1, f"{path}: a chart {width} px wide in {room} px"
                assert text >= 12, f"{path}: chart labels {text} px high"
    context.close()
