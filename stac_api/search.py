"""The item-search request model: pgstac's, made tolerant where the spec's clients differ and
strict where a silent default would mislead."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator
from stac_fastapi.pgstac.types.search import PgstacSearch

from stac_api.fields import resolve_fields


class DinamisSearch(PgstacSearch):
    """POST /search body.

    - `collections` and `ids` also accept a single string (a lone `"spot67"` is a common
      client shortcut, and the official validator sends one).
    - `fields: null` is refused: the fields extension defines an object, and accepting null
      would silently return full items to a client that asked for a subset.
    - `fields` follows the spec's semantics (stac_api.fields), which pgstac alone does not.
    """

    @model_validator(mode="before")
    @classmethod
    def normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "fields" in data:
            if not isinstance(data["fields"], dict):
                raise ValueError("fields must be an object with `include` and/or `exclude` arrays")
            data = {**data, "fields": resolve_fields(data["fields"])}
        for key in ("collections", "ids"):
            if isinstance(data.get(key), str):
                data = {**data, key: [v.strip() for v in data[key].split(",") if v.strip()]}
        return data
