"""The registry's fixed lists, as in the DINAMIS portal: eligibility categories, sectors,
interest domains, sensors, countries."""

from __future__ import annotations

import gettext
from functools import cache

import pycountry
from pyuca import Collator

from pgstac.missions import MISSIONS

# The 11 eligibility categories (seed: "Rappel : pour adhérer à DINAMIS, votre Entité doit
# appartenir à l'une des catégories éligibles suivantes").
CATEGORIES: dict[str, str] = {
    "state_services": "Services centraux et services déconcentrés de l'Etat",
    "public_research_teaching": "Établissements publics de recherche et d'enseignement",
    "public_other": "Établissements publics hors recherche et enseignement",
    "local_authority": "Collectivités territoriales",
    "other_french_public": "Autres établissements publics français",
    "non_profit": "Organismes à but non lucratif au titre de l'intérêt général et hors champ concurrentiel",
    "private_rd": "Entité privée française au titre de Recherche&Développement",
    "private_contractor": "Entité privée française au titre de prestataire de commande publique",
    "eu_research": "Entité publique de recherche scientifique d'un pays membre de l'UE ou de Suisse, Islande, Norvège",
    "european_commission": "Services de la Commission Européenne",
    "non_eu_research": "Entité publique de Recherche scientifique de pays hors UE",
}
PRIVATE_CATEGORIES = ("private_rd", "private_contractor")
FOREIGN_CATEGORIES = ("eu_research", "european_commission", "non_eu_research")

SECTORS = {"public": "Public", "private": "Privé"}

INTEREST_DOMAINS = [
    "Aménagement du Territoire",
    "Agriculture",
    "Forêt",
    "Environnement et biodiversité",
    "Eau et littoral",
    "Risques naturels",
    "Urbanisme",
    "Climat",
    "Défense et sécurité",
    "Recherche",
    "Enseignement",
    "Autre",
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
