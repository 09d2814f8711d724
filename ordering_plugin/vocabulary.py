"""The ordering desk's fixed lists, in French as the pages show them."""

from extensions.i18n import N_
from pgstac.missions import MISSIONS

PROJECT_KINDS = {
    "SCI": N_("Recherche scientifique"),
    "POL": N_("Appui aux politiques publiques"),
    "RND": N_("Recherche et développement"),
    "EDU": N_("Enseignement"),
}
THEMES = (
    N_("Agriculture"),
    N_("Biodiversité"),
    N_("Eau"),
    N_("Forêt"),
    N_("Littoral"),
    N_("Risques"),
    N_("Urbanisme"),
    N_("Climat"),
    N_("Santé"),
    N_("Archéologie"),
    N_("Autre"),
)

# Quota families (and the last part of request ids), from the missions table.
FAMILIES = tuple(m.ordering.family for m in MISSIONS if m.ordering and m.oneatlas)
