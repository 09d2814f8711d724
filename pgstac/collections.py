"""The product's collections, defined as data (collections.yaml) and upserted into pgstac."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg.types.json import Jsonb

COLLECTIONS_FILE = Path(__file__).with_name("collections.yaml")
PARTITION_TRUNCS = ("year", "month")


class CollectionDefinitionError(ValueError):
    """A collections file that cannot be loaded, with the file and the reason."""


@dataclass(frozen=True)
class CollectionDefinition:
    """A STAC Collection and how pgstac stores its items."""

    stac: dict[str, Any]
    partition_trunc: str | None = None

    @property
    def id(self) -> str:
        return str(self.stac["id"])

    @property
    def licences(self) -> list[str]:
        return list(self.stac.get("dinamis:licences", []))

    @property
    def held(self) -> bool:
        """False for a federated collection: searched live upstream, no items stored here."""
        return "dinamis:federated" not in self.stac


def read_collections(path: Path = COLLECTIONS_FILE) -> list[CollectionDefinition]:
    """Read collection definitions from a YAML/JSON file or a folder of them.

    A file holds either `collections: [{collection: ..., pgstac: {partition_trunc: ...}}]`
    (the product's own file), a list of STAC Collections, or one STAC Collection.
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
        return [d for f in files for d in read_collections(f)]
    try:
        document = (
            json.loads(path.read_text())
            if path.suffix == ".json"
            else yaml.safe_load(path.read_text())
        )
    except (OSError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise CollectionDefinitionError(f"{path}: cannot be read: {exc}") from exc
    if isinstance(document, dict) and "collections" in document:
        entries = document["collections"]
    elif isinstance(document, list):
        entries = document
    else:
        entries = [document]
    return [_definition(path, entry) for entry in entries]


def _definition(path: Path, entry: Any) -> CollectionDefinition:
    if not isinstance(entry, dict):
        raise CollectionDefinitionError(f"{path}: a collection must be a mapping")
    stac = entry.get("collection", entry)
    storage = entry.get("pgstac", {}) if "collection" in entry else {}
    if not isinstance(stac, dict) or stac.get("type") != "Collection" or not stac.get("id"):
        raise CollectionDefinitionError(f"{path}: not a STAC Collection (needs type and id)")
    trunc = storage.get("partition_trunc")
    if trunc is not None and trunc not in PARTITION_TRUNCS:
        raise CollectionDefinitionError(
            f"{path}: {stac['id']}: partition_trunc must be one of "
            f"{', '.join(PARTITION_TRUNCS)}, not {trunc!r}"
        )
    return CollectionDefinition(stac=stac, partition_trunc=trunc)


def load_collections(
    conn: psycopg.Connection, definitions: list[CollectionDefinition]
) -> list[str]:
    """Upsert the collections and set their partitioning; returns the ids loaded.

    Partitioning is set right after the collection row exists, before any item is loaded.
    Changing it later makes pgstac repartition the existing items (correct, but slow).
    """
    with conn.transaction():
        for definition in definitions:
            conn.execute("SELECT pgstac.upsert_collection(%s)", [Jsonb(definition.stac)])
            conn.execute(
                "UPDATE pgstac.collections SET partition_trunc = %(trunc)s "
                "WHERE id = %(id)s AND partition_trunc IS DISTINCT FROM %(trunc)s",
                {"trunc": definition.partition_trunc, "id": definition.id},
            )
    return [d.id for d in definitions]
