"""The registry's fixed lists, as in the DINAMIS portal: eligibility categories, sectors,
interest domains, sensors, countries."""

from __future__ import annotations

import gettext
from functools import cache

import pycountry
from pyuca import Collator

from extensions.i18n import N_
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

# Which adhesion flow a category follows.
FLOWS = {"private_rd": "private_rd", "private_contractor": "private_contractor"}


def flow_of(category: str) -> str:
    return FLOWS.get(category, "public")


@cache
def countries() -> list[str]:
    """Country names in French, France first, in the Unicode collation order (Égypte among
    the E, not after Zimbabwe as code points sort it)."""
    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    names = sorted({french.gettext(c.name) for c in pycountry.countries}, key=Collator().sort_key)
    return ["France", *[n for n in names if n != "France"]]
