"""The ordering desk's fixed lists, in French as the pages show them."""

from pgstac.missions import MISSIONS

PROJECT_KINDS = {
    "SCI": "Recherche scientifique",
    "POL": "Appui aux politiques publiques",
    "RND": "Recherche et développement",
    "EDU": "Enseignement",
}
THEMES = (
    "Agriculture",
    "Biodiversité",
    "Eau",
    "Forêt",
    "Littoral",
    "Risques",
    "Urbanisme",
    "Climat",
    "Santé",
    "Archéologie",
    "Autre",
)

# Quota families (and the last part of request ids), from the missions table.
FAMILIES = tuple(m.ordering.family for m in MISSIONS if m.ordering and m.oneatlas)
