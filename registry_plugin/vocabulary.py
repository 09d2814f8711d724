"""The registry's fixed lists, as in the DINAMIS portal: eligibility categories, sectors,
interest domains, sensors, countries."""

from __future__ import annotations

import gettext
from functools import cache

import pycountry
from babel import Locale
from pyuca import Collator

from extensions.i18n import N_, language, speaking
from pgstac.missions import MISSIONS

LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
"""The languages an account may choose for its mails (extensions.i18n.LANGUAGES), each named
in itself."""

# The 11 eligibility categories (seed: "Rappel : pour adhérer à DINAMIS, votre Entité doit
# appartenir à l'une des catégories éligibles suivantes").
CATEGORIES: dict[str, str] = {
    "state_services": N_("Services centraux et services déconcentrés de l'Etat"),
    "public_research_teaching": N_("Établissements publics de recherche et d'enseignement"),
    "public_other": N_("Établissements publics hors recherche et enseignement"),
    "local_authority": N_("Collectivités territoriales"),
    "other_french_public": N_("Autres établissements publics français"),
    "non_profit": N_(
        "Organismes à but non lucratif au titre de l'intérêt général et hors champ concurrentiel"
    ),
    "private_rd": N_("Entité privée française au titre de Recherche&Développement"),
    "private_contractor": N_(
        "Entité privée française au titre de prestataire de commande publique"
    ),
    "eu_research": N_(
        "Entité publique de recherche scientifique d'un pays membre de l'UE ou de Suisse, "
        "Islande, Norvège"
    ),
    "european_commission": N_("Services de la Commission Européenne"),
    "non_eu_research": N_("Entité publique de Recherche scientifique de pays hors UE"),
}
PRIVATE_CATEGORIES = ("private_rd", "private_contractor")
FOREIGN_CATEGORIES = ("eu_research", "european_commission", "non_eu_research")

SECTORS = {"public": N_("Public"), "private": N_("Privé")}

INTEREST_DOMAINS = [
    N_("Aménagement du Territoire"),
    N_("Agriculture"),
    N_("Forêt"),
    N_("Environnement et biodiversité"),
    N_("Eau et littoral"),
    N_("Risques naturels"),
    N_("Urbanisme"),
    N_("Climat"),
    N_("Défense et sécurité"),
    N_("Recherche"),
    N_("Enseignement"),
    N_("Autre"),
]

# Sensors a mission may ask for: each mission's collection, from the missions table.
SENSORS: dict[str, str] = {m.collection: m.label for m in MISSIONS}
# The sensor families imagery is ordered and counted by (the ordering desk's requests and
# quotas), each named by its mission.
ORDERED_SENSORS: dict[str, str] = {m.ordering.family: m.label for m in MISSIONS if m.ordering}

ENTITY_STATUS = {
    "awaiting_rl": N_("En attente du représentant légal"),
    "awaiting_partner": N_("En attente de l'entité partenaire"),
    "awaiting_instruction": N_("En attente d'instruction"),
    "active": N_("Adhérente"),
    "suspended": N_("Suspendue"),
    "rejected": N_("Refusée"),
    "deactivated": N_("Désactivée"),
    "merged": N_("Fusionnée"),
}
ACCOUNT_STATUS = {
    "pending": N_("En attente de validation"),
    "active": N_("Actif"),
    "refused": N_("Refusé"),
    "deactivated": N_("Désactivé"),
    "expired": N_("Expiré"),
}

# Which adhesion flow a category follows.
FLOWS = {"private_rd": "private_rd", "private_contractor": "private_contractor"}


def flow_of(category: str) -> str:
    return FLOWS.get(category, "public")


@cache
def country_codes() -> dict[str, str]:
    """Each country's French name, the nationality stored whatever the reader's language,
    and its ISO 3166 code."""
    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    return {french.gettext(c.name): c.alpha_2 for c in pycountry.countries}


def country_name(value: str) -> str:
    """A stored nationality in the reader's language (Babel's name of the country); a value
    that is not one of the list's, as it is."""
    code = country_codes().get(value)
    if code is None or language() == "fr":
        return value
    return str(Locale.parse(language()).territories.get(code, value))


@cache
def country_options(lang: str) -> list[tuple[str, str]]:
    """The nationality list in `lang`: (the stored French name, the name shown), France
    first, the others in the Unicode collation order of the names shown (Égypte among the E,
    not after Zimbabwe as code points sort it)."""
    with speaking(lang):
        options = {value: country_name(value) for value in country_codes()}
    key = Collator().sort_key
    shown = sorted((o for o in options.items() if o[0] != "France"), key=lambda o: key(o[1]))
    return [("France", options["France"]), *shown]


def countries() -> list[str]:
    """The nationalities that may be stored: country names in French, France first."""
    return [value for value, _ in country_options("fr")]
