"""The missions DINAMIS serves, in one table that every package reads: how the DIMAP readers
name a product's mission, which collection holds it, how Airbus OneAtlas names it, what the
ordering desk sells of it, its resolution and its dates.

The licences that grant downloads are the collections' (`dinamis:licences` in
`collections.yaml`): `Mission.licences` reads them from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache


@dataclass(frozen=True)
class Platform:
    """One satellite."""

    id: str
    """STAC `platform`: spot-6, pleiades-1a."""
    label: str
    dimap_index: str
    """DIMAP `MISSION_INDEX`: 6, 1A."""
    instrument: str
    """STAC `instruments`: hrv, hrvir, hrg, naomi, hiri, pneo."""
    gsd: tuple[float, float]
    """Ground sample distance of its products, panchromatic and multispectral (m)."""
    start: date
    """First acquisition of the archive."""
    end: date | None = None
    """Last acquisition (None: in service)."""
    oneatlas: str | None = None
    """Airbus OneAtlas `platform`: SPOT6, PHR1A (None: not in the Airbus archive)."""


@dataclass(frozen=True)
class Ordering:
    """What the ordering desk sells of a mission (archive and tasking from Airbus)."""

    key: str
    """Suffix of the order products: airbus-archive-<key>, airbus-tasking-<key>."""
    family: str
    """Quota family, and the last part of request ids."""
    min_archive_km2: float
    min_tasking_km2: float
    max_incidence: float
    """Largest incidence angle a tasking may ask for (°)."""


@dataclass(frozen=True)
class Mission:
    """A family of satellites whose products share a collection and a metadata format."""

    id: str
    label: str
    constellation: str
    """STAC `constellation`."""
    dimap: tuple[str, ...]
    """DIMAP `MISSION` names (the first is the one written in new files)."""
    collections: tuple[str, ...]
    """The collections holding its products; the first by default."""
    altitude_km: float
    platforms: tuple[Platform, ...]
    oneatlas: str | None = None
    """Airbus OneAtlas `constellation`: SPOT, PHR, PNEO (None: not sold by Airbus)."""
    ordering: Ordering | None = None
    bits: int = 12
    """Radiometric depth of its images: 12 bits (written on 16) but SPOT 1-5's 8."""

    @property
    def collection(self) -> str:
        return self.collections[0]

    def licences(self) -> dict[str, tuple[str, ...]]:
        """The licences granting each of its collections (from collections.yaml)."""
        return {c: collection_licences()[c] for c in self.collections}


SPOT_1_5 = Mission(
    id="spot-1-5",
    label="SPOT 1-5",
    constellation="spot",
    dimap=("SPOT",),
    collections=("spot-swh",),
    altitude_km=822.0,
    bits=8,
    platforms=(
        Platform(
            "spot-1", "SPOT 1", "1", "hrv", (10.0, 20.0), date(1986, 2, 22), date(1990, 12, 31)
        ),
        Platform(
            "spot-2", "SPOT 2", "2", "hrv", (10.0, 20.0), date(1990, 2, 21), date(2009, 7, 29)
        ),
        Platform(
            "spot-3", "SPOT 3", "3", "hrv", (10.0, 20.0), date(1993, 9, 26), date(1996, 11, 14)
        ),
        Platform(
            "spot-4", "SPOT 4", "4", "hrvir", (10.0, 20.0), date(1998, 3, 24), date(2013, 1, 11)
        ),
        Platform("spot-5", "SPOT 5", "5", "hrg", (2.5, 10.0), date(2002, 5, 4), date(2015, 3, 31)),
    ),
)
SPOT_6_7 = Mission(
    id="spot-6-7",
    label="SPOT 6/7",
    constellation="spot",
    dimap=("SPOT",),
    collections=("spot67",),
    altitude_km=694.0,
    platforms=(
        Platform("spot-6", "SPOT 6", "6", "naomi", (1.5, 6.0), date(2012, 9, 12), oneatlas="SPOT6"),
        Platform(
            "spot-7",
            "SPOT 7",
            "7",
            "naomi",
            (1.5, 6.0),
            date(2014, 7, 1),
            date(2023, 3, 17),
            "SPOT7",
        ),
    ),
    oneatlas="SPOT",
    ordering=Ordering("spot", "SPOT", 100.0, 100.0, 45.0),
)
PLEIADES = Mission(
    id="pleiades",
    label="Pléiades",
    constellation="pleiades",
    dimap=("PHR", "PLEIADES"),
    collections=("pleiades", "pleiades-pwh"),
    altitude_km=694.0,
    platforms=(
        Platform(
            "pleiades-1a",
            "Pléiades 1A",
            "1A",
            "hiri",
            (0.5, 2.0),
            date(2011, 12, 17),
            oneatlas="PHR1A",
        ),
        Platform(
            "pleiades-1b",
            "Pléiades 1B",
            "1B",
            "hiri",
            (0.5, 2.0),
            date(2012, 12, 2),
            date(2022, 12, 20),
            "PHR1B",
        ),
    ),
    oneatlas="PHR",
    ordering=Ordering("pleiades", "PLEIADES", 25.0, 100.0, 50.0),
)
PLEIADES_NEO = Mission(
    id="pleiades-neo",
    label="Pléiades Neo",
    constellation="pleiades-neo",
    dimap=("PNEO", "PLEIADES NEO", "PLEIADES-NEO"),
    collections=("pleiades-neo",),
    altitude_km=620.0,
    platforms=(
        Platform(
            "pleiades-neo-3",
            "Pléiades Neo 3",
            "3",
            "pneo",
            (0.3, 1.2),
            date(2021, 5, 10),
            oneatlas="PNEO3",
        ),
        Platform(
            "pleiades-neo-4",
            "Pléiades Neo 4",
            "4",
            "pneo",
            (0.3, 1.2),
            date(2021, 9, 1),
            oneatlas="PNEO4",
        ),
    ),
    oneatlas="PNEO",
    ordering=Ordering("pleiades-neo", "PLEIADES-NEO", 25.0, 100.0, 50.0),
)

MISSIONS: tuple[Mission, ...] = (SPOT_1_5, SPOT_6_7, PLEIADES, PLEIADES_NEO)
PLATFORMS: dict[str, tuple[Mission, Platform]] = {
    p.id: (m, p) for m in MISSIONS for p in m.platforms
}
"""STAC platform → its mission and platform."""
AIRBUS: dict[str, Mission] = {m.oneatlas: m for m in MISSIONS if m.oneatlas}
"""OneAtlas constellation → mission."""
AIRBUS_PLATFORMS: dict[str, tuple[Mission, Platform]] = {
    p.oneatlas: (m, p) for m in MISSIONS for p in m.platforms if p.oneatlas
}
"""OneAtlas platform → its mission and platform."""


def white_level(platform: object) -> int:
    """The brightest value of an image of this STAC platform (a 12-bit one when unknown)."""
    mission = (
        PLATFORMS[platform][0] if isinstance(platform, str) and platform in PLATFORMS else None
    )
    return 2 ** (mission.bits if mission else 12) - 1


HOME_COLLECTION: dict[str, str] = {c: m.collection for m in MISSIONS for c in m.collections}
"""Collection → the default collection of its mission (pleiades-pwh → pleiades)."""


class UnknownPlatform(LookupError):
    """A DIMAP mission and index that no mission of the table has."""


def dimap_platform(name: str, index: str) -> tuple[Mission, Platform]:
    """The mission and platform of a DIMAP `MISSION` and `MISSION_INDEX` (any case)."""
    name, index = name.strip().upper(), index.strip().upper()
    for mission in MISSIONS:
        if name in mission.dimap:
            for platform in mission.platforms:
                if platform.dimap_index == index:
                    return mission, platform
    raise UnknownPlatform(f"unknown mission {name!r} index {index!r}")


@cache
def collection_licences() -> dict[str, tuple[str, ...]]:
    from pgstac.collections import read_collections

    return {d.id: tuple(d.stac.get("dinamis:licences", ())) for d in read_collections()}
