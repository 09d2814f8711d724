"""The registry's pages without a browser (as without JavaScript): the contractor's wizard
with its partner search, field errors, step order, and the RL page's server-side check."""

from __future__ import annotations

import html
import re

import httpx

from extensions.i18n import speaking
from registry_plugin.vocabulary import country_name
from tests.registry import PASSWORD, link, unique

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def shown(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def form(pages: httpx.AsyncClient, path: str, data: dict[str, object]) -> httpx.Response:
    """Post a page's form as a browser would: with the token of the page."""
    page = await pages.get(path)
    token = CSRF.search(page.text)
    assert token, f"{path} has no form"
    return await pages.post(path, data={"csrf_token": token.group(1), **data})


async def start_adhesion(client: httpx.AsyncClient, pages: httpx.AsyncClient) -> str:
    email = unique("wizard")
    sent = await form(
        pages, "/portail/verification?demarche=adhesion", {"email": email, "demarche": "adhesion"}
    )
    assert sent.status_code == 200 and email in shown(sent)
    token = await link(client, email, "/portail/verification")
    opened = await pages.get(f"/portail/verification/{token}")
    assert email in shown(opened) and "est valide" in shown(opened)
    started = await form(pages, f"/portail/verification/{token}", {})
    assert started.status_code == 303 and started.headers["location"] == "/portail/adhesion/rappel"
    return email


async def test_contractor_wizard_with_partner_search(
    client: httpx.AsyncClient, pages: httpx.AsyncClient
) -> None:
    await start_adhesion(client, pages)
    # Steps cannot be skipped: the first missing one is shown.
    skipped = await pages.get("/portail/adhesion/recapitulatif")
    assert skipped.status_code == 303 and skipped.headers["location"] == "/portail/adhesion/rappel"
    assert (await form(pages, "/portail/adhesion/rappel", {})).headers[
        "location"
    ] == "/portail/adhesion/entite"

    entity = {"acronym": "PRESTA", "name": "Prestataire SIG", "nationality": "France",
              "address": "1 rue du Port", "postal_code": "34200", "city": "Sète"}  # fmt: skip
    assert (await form(pages, "/portail/adhesion/entite", entity)).status_code == 303
    wrong = await form(
        pages, "/portail/adhesion/secteur",
        {"interest_domain": "Urbanisme", "activity_sector": "public", "category": "private_contractor"},
    )  # fmt: skip
    assert wrong.status_code == 400
    assert "ne correspond pas au secteur" in shown(wrong)
    sector = {
        "interest_domain": "Urbanisme",
        "activity_sector": "private",
        "category": "private_contractor",
    }
    assert (await form(pages, "/portail/adhesion/secteur", sector)).headers[
        "location"
    ] == "/portail/adhesion/mission"

    # Mission errors land on the fields they are about; nothing is kept.
    bad = await form(
        pages, "/portail/adhesion/mission",
        {"title": "Cartographie", "valid_from": "2026-01-01", "valid_to": "2025-01-01", "north": "43.7",
         "south": "43.5", "west": "3.6", "east": "4.0", "sensor_spot67": "on", "from_spot67": "2024-01-01",
         "to_spot67": "2023-01-01"},
    )  # fmt: skip
    assert bad.status_code == 400
    page = shown(bad)
    assert 'id="f-valid_to"' in page and "précède son début" in page
    mission = {"title": "Cartographie", "valid_from": "2025-01-01", "valid_to": "2026-01-01", "north": "43.7",
               "south": "43.5", "west": "3.6", "east": "4.0", "sensor_spot67": "on", "from_spot67": "2023-01-01",
               "to_spot67": "2024-01-01"}  # fmt: skip
    saved = await form(pages, "/portail/adhesion/mission", mission)
    assert saved.headers["location"] == "/portail/adhesion/partenaire"

    # The public partner is chosen from a searchable, paged list of public adherent entities.
    listing = await pages.get("/portail/adhesion/partenaire", params={"q": "novembre"})
    assert "Formation_6_Novembre" in shown(listing) and "Privé R&D" not in shown(listing)
    partner = re.search(
        r'name="public_entity_id" value="(\d+)" id="partner-\d+"\s*>\s*</td>\s*<td><label[^>]*>Formation_6_Novembre',
        listing.text,
    )
    assert partner
    none = await form(pages, "/portail/adhesion/partenaire", {})
    assert none.status_code == 400 and "Choisissez" in shown(none)
    private = await client.get("/registry/entities", params={"q": "PRIVRD"})
    refused = await form(
        pages,
        "/portail/adhesion/partenaire",
        {"public_entity_id": private.json()["entities"][0]["id"]},
    )
    assert refused.status_code == 400
    chosen = await form(
        pages, "/portail/adhesion/partenaire", {"public_entity_id": partner.group(1)}
    )
    assert chosen.headers["location"] == "/portail/adhesion/representant"

    rl = unique("rl")
    person = {"first_name": "Paul", "last_name": "Valéry", "function": "Gérant", "email": rl,
              "email_confirmation": rl.upper(), "nationality": "France"}  # fmt: skip
    assert (await form(pages, "/portail/adhesion/representant", person)).status_code == 303
    copied = await pages.get("/portail/adhesion/referent", params={"copie": "rl"})
    assert 'value="Valéry"' in shown(copied)
    referent = {"first_name": "Anne", "last_name": "Dupont", "function": "Cheffe de projet", "phone": "0467000000",
                "nationality": "France", "password": PASSWORD, "password_confirmation": PASSWORD}  # fmt: skip
    assert (await form(pages, "/portail/adhesion/referent", referent)).status_code == 303

    summary = await pages.get("/portail/adhesion/recapitulatif")
    text = shown(summary)
    assert "Formation_6_Novembre" in text and "SPOT 6/7 : 01/01/2023 – 01/01/2024" in text
    assert PASSWORD not in text
    sent = await form(pages, "/portail/adhesion/recapitulatif", {})  # the page's own form
    assert sent.status_code == 404  # the summary is not a step to save: it posts to /soumettre
    token = CSRF.search(summary.text).group(1)  # type: ignore[union-attr]
    submitted = await pages.post("/portail/adhesion/soumettre", data={"csrf_token": token})
    assert submitted.status_code == 200 and rl in shown(submitted)
    again = await pages.post("/portail/adhesion/soumettre", data={"csrf_token": token})
    assert again.status_code == 400  # the draft is gone: nothing is submitted twice

    # Without JavaScript the RL's button is enabled: the server still wants every box.
    rl_token = await link(client, rl, "/portail/adhesion/validation")
    partial = await form(pages, f"/portail/adhesion/validation/{rl_token}", {"accept-charte": "on"})
    assert partial.status_code == 400
    assert (
        "Cochez « J'atteste avoir pris connaissance des licences d'utilisation des images SPOT 6-7 »"
        in shown(partial)
    )
    view = await client.get(f"/registry/adhesions/validation/{rl_token}")
    assert view.json()["adhesion"]["rl_validated_at"] is None
    ticks = {f"accept-{lic['code']}": "on" for lic in view.json()["licences"]}
    done = await form(pages, f"/portail/adhesion/validation/{rl_token}", ticks)
    assert done.status_code == 200 and "entité publique partenaire" in shown(done)


async def test_dev_mailbox_and_project_template(pages: httpx.AsyncClient) -> None:
    mailbox = await pages.get("/portail/courriels")
    assert mailbox.status_code == 200 and "Boîte de développement" in shown(mailbox)
    template = await pages.get("/portail/modele-projet.pdf")
    assert template.headers["content-type"] == "application/pdf" and template.content.startswith(
        b"%PDF"
    )


async def test_instructor_pages(pages: httpx.AsyncClient) -> None:
    signed_in = await form(
        pages, "/connexion", {"email": "instructeur@dinamis.example", "password": "Toto@34090"}
    )
    assert signed_in.status_code == 303
    desk = await pages.get("/registre/instruction")
    assert "Commune de Sète" in shown(desk) and "En attente d'instruction" in shown(desk)
    for path, expected in (("/registre/courriels", "Courriels envoyés"), ("/registre/journal", "account.signed_in"),
                           ("/registre/entites", "Formation_6_Novembre")):  # fmt: skip
        page = await pages.get(path)
        assert page.status_code == 200 and expected in shown(page), path
    sete = re.search(r'href="/registre/instruction/(\d+)">Instruire</a>', desk.text)
    assert sete
    detail = await pages.get(f"/registre/instruction/{sete.group(1)}")
    assert "Rejeter l'adhésion" in shown(detail)
    token = CSRF.search(detail.text).group(1)  # type: ignore[union-attr]
    short = await pages.post(
        f"/registre/instruction/{sete.group(1)}/rejeter",
        data={"csrf_token": token, "reason": "non"},
    )
    assert short.status_code == 303
    after = await pages.get(short.headers["location"])
    assert "10 caractères" in shown(after)  # said on the page, and nothing changed
    assert "Rejeter l'adhésion" in shown(after)


async def test_the_nationality_list_is_in_the_readers_language_its_value_in_french(
    client: httpx.AsyncClient, pages: httpx.AsyncClient
) -> None:
    """An English reader picks « Germany »; the entity is stored with « Allemagne » as a French
    reader's would be, and shown to each reader in their language."""
    await start_adhesion(client, pages)
    await form(pages, "/portail/adhesion/rappel", {})
    french = shown(await pages.get("/portail/adhesion/entite"))
    assert '<option value="Allemagne">Allemagne</option>' in french
    english = shown(await pages.get("/portail/adhesion/entite?lang=en"))
    assert '<option value="Allemagne">Germany</option>' in english
    assert '<option value="Corée, République de">South Korea</option>' in english
    names = re.findall(
        r'<option value="[^"]+"(?: selected)?>([^<]+)</option>',
        english.split('id="f-nationality"')[1],
    )
    assert names[0] == "France" and names.index("Germany") < names.index("Spain")
    entity = {"acronym": "BERLIN", "name": "Stadt Berlin", "nationality": "Allemagne",
              "address": "1 Unter den Linden", "postal_code": "10117", "city": "Berlin"}  # fmt: skip
    assert (await form(pages, "/portail/adhesion/entite", entity)).status_code == 303
    with speaking("en"):
        assert country_name("Allemagne") == "Germany"
    assert country_name("Allemagne") == "Allemagne"
    assert country_name("Atlantide") == "Atlantide"  # a value stored before the list: as is
