"""Place names for the catalogue: an offline gazetteer of French communes, départements,
régions, overseas territories and countries, searched by name (accents and case ignored) and
resolved to outlines for `place=` searches. Sources and licences: `sources.py`, README."""

from extensions.places.extension import add_places
from extensions.places.loader import load_places
from extensions.places.search import resolve_place, suggest
from extensions.places.sources import normalize

__all__ = ["add_places", "load_places", "normalize", "resolve_place", "suggest"]
