"""The catalogue viewer: the map where people find, preview, download and order imagery.

- `pages.py`: the page (at `/catalogue`, and at `/` for browsers: content negotiation with
  the STAC landing page), its language and the configuration written into it;
- `tiles.py`: the footprints of a whole result set and the offline basemap, as vector tiles;
- `coverage.py`: the fewest scenes of a search that cover its zone;
- `src/`: the viewer's script (MapLibre GL, Preact), built at set-up into `static/`.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from extensions.viewer.coverage import add_coverage
from extensions.viewer.pages import add_viewer_page, viewer_page, wants_viewer
from extensions.viewer.tiles import SearchReader, add_viewer_tiles


def add_viewer(
    app: FastAPI, prefix: str, read_search: SearchReader, search_model: type[BaseModel]
) -> None:
    """The page, the tiles (their search read as `GET /search` reads it) and the coverage of
    a zone (its search read as `POST /search` reads it)."""
    add_viewer_page(app)
    add_viewer_tiles(app, prefix, read_search)
    add_coverage(app, prefix, search_model)


__all__ = ["add_viewer", "viewer_page", "wants_viewer"]
