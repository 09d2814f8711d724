"""Fields extension semantics, as the STAC API spec and its official validator define them.

- `fields` absent: the full item.
- `fields` empty (`{}`, `fields=`), or an explicitly empty or null `include`: the default set
  (`type, stac_version, id, geometry, bbox, links, assets, properties.datetime`), less any
  `exclude`.
- only `exclude`: the full item less those fields.
- a non-empty `include`: only those fields (a field both included and excluded is included),
  plus `type`, so that every feature stays a GeoJSON Feature.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DEFAULT_FIELDS = (
    "type",
    "stac_version",
    "id",
    "geometry",
    "bbox",
    "links",
    "assets",
    "properties.datetime",
)


def _covered(field: str, exclude: set[str]) -> bool:
    return any(field == e or field.startswith(f"{e}.") for e in exclude)


def resolve_fields(fields: dict[str, Any]) -> dict[str, list[str]]:
    """The include/exclude pgstac must apply for a client's `fields` object."""
    include = set(fields.get("include") or ())
    exclude = set(fields.get("exclude") or ())
    if include:
        return {"include": sorted(include | {"type"}), "exclude": sorted(exclude - include)}
    if "include" in fields or not exclude:
        return {
            "include": [f for f in DEFAULT_FIELDS if not _covered(f, exclude)],
            "exclude": sorted(exclude),
        }
    return {"exclude": sorted(exclude)}


def fields_from_query(fields: Iterable[str]) -> dict[str, list[str]]:
    """A GET `fields=a,+b,-c` list as the POST object (no `include` key when none given)."""
    include = [f.removeprefix("+") for f in fields if f and not f.startswith("-")]
    exclude = [f[1:] for f in fields if f.startswith("-")]
    return {"include": include, "exclude": exclude} if include else {"exclude": exclude}
