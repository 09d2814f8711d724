"""DIMAP readers: metadata of SPOT 1-7, Pléiades and Pléiades Neo products → STAC items.

    item = read_item(Path("DIM_SPOT6_PMS_..._ORT_5588528101.XML").read_bytes(), "DIM_SPOT6_....XML")

A file that cannot be read raises a DimapError whose `reason` says why (not-dimap,
malformed-xml, truncated, missing-footprint, unknown-mission, missing-field, wrong-collection).
"""

from __future__ import annotations

import re
from typing import Any

import pystac
from lxml import etree

from ingest.dimap.scene import (
    DimapError,
    MalformedXml,
    MissingField,
    MissingFootprint,
    NotDimap,
    Scene,
    TruncatedFile,
    UnknownMission,
    scene_to_item,
)
from ingest.dimap.v1 import read_v1
from ingest.dimap.v2 import read_v2
from pgstac.missions import HOME_COLLECTION

__all__ = [
    "DimapError",
    "MalformedXml",
    "MissingField",
    "MissingFootprint",
    "NotDimap",
    "TruncatedFile",
    "UnknownMission",
    "WrongCollection",
    "is_metadata_file",
    "read_item",
    "read_pystac_item",
    "read_scene",
]

# Entities, DTDs and network access are refused: metadata files come from outside.
PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True
)
METADATA_FILE = re.compile(r"(^|/)(DIM_[^/]*\.XML|[^/]*\.DIM)$", re.IGNORECASE)
PWH_FOLDER = re.compile(r"(^|/)PWH(/|$)", re.IGNORECASE)
UNREAD = tuple(
    (b"<%s>" % name, b"</%s>" % name)
    for name in (b"Dataset_Components", b"Histogram_Band_List", b"Attitudes", b"Quality_Assessment")
)
"""What no reader needs and parsing would spend most of its time on, in the order DIMAP V2
files hold it: the histograms alone are 70 % of a multispectral product's file (78 of 110 kB),
the four a third of what remains."""


class WrongCollection(DimapError):
    reason = "wrong-collection"


def is_metadata_file(path: str) -> bool:
    """DIMAP V2 `DIM_*.XML` or V1 `*.DIM` (METADATA.DIM)."""
    return bool(METADATA_FILE.search(path))


def parse(data: bytes) -> etree._Element:
    """The document without what no reader needs (`UNREAD`), cut out before parsing; as a
    whole when the cut leaves something that does not parse, so errors speak of the file."""
    pieces, position = [], 0
    for opening, closing in UNREAD:
        start = data.find(opening, position)
        end = data.find(closing, start) if start >= 0 else -1
        if end >= 0:
            pieces.append(data[position:start])
            position = end + len(closing)
    if pieces:
        try:
            return etree.fromstring(b"".join([*pieces, data[position:]]), PARSER)
        except etree.XMLSyntaxError:
            pass
    return etree.fromstring(data, PARSER)


def read_scene(data: bytes, file_name: str) -> Scene:
    if not data.strip():
        raise TruncatedFile("empty file")
    try:
        root = parse(data)
    except etree.XMLSyntaxError as exc:
        message = str(exc)
        if "Premature end" in message or "end of data" in message or "EndTag" in message:
            raise TruncatedFile(f"the XML ends before its last element: {message}") from exc
        raise MalformedXml(f"not well-formed XML: {message}") from exc
    if root.tag != "Dimap_Document":
        raise NotDimap(f"root element is <{root.tag}>, not <Dimap_Document>")
    if root.find("Metadata_Identification") is not None:
        return read_v2(root, file_name)
    if root.find("Metadata_Id") is not None:
        return read_v1(root, file_name)
    raise NotDimap("neither DIMAP V2 (Metadata_Identification) nor V1 (Metadata_Id)")


def collection_for(scene: Scene, path: str, forced: str | None) -> str:
    """The mission's collection; a Pléiades product under a `PWH/` folder is PWH.

    A collection given on the command line wins, if the mission fits it (any collection
    outside the product's own five is accepted as the operator's choice).
    """
    own = scene.mission.collection
    if forced:
        if forced in HOME_COLLECTION and HOME_COLLECTION[forced] != own:
            raise WrongCollection(f"a {scene.platform.label} product cannot go into {forced!r}")
        return forced
    if own == "pleiades" and PWH_FOLDER.search(path):
        return "pleiades-pwh"
    return own


def read_item(
    data: bytes,
    path: str,
    *,
    href_dir: str = "",
    collection: str | None = None,
    providers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The STAC item (as JSON) of the DIMAP file at `path` (relative to the harvest root).

    Asset hrefs are `href_dir` followed by the product's file names.
    """
    scene = read_scene(data, path)
    return scene_to_item(scene, collection_for(scene, path, collection), href_dir, providers)


def read_pystac_item(data: bytes, path: str, **options: Any) -> pystac.Item:
    """The same item as a pystac object."""
    return pystac.Item.from_dict(read_item(data, path, **options))
