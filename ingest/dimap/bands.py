"""Band names of each mission: common names for the DIMAP band ids, and nominal spectral
ranges (micrometres) for DIMAP V1 files, which do not carry them."""

from __future__ import annotations

from ingest.dimap.scene import Band

# DIMAP V2 band ids: P and B0-B3 for SPOT 6/7 and Pléiades; PAN, R, G, B, NIR, RE (red edge)
# and DB (deep blue) for Pléiades Neo.
V2_COMMON_NAMES = {
    "P": "pan",
    "PAN": "pan",
    "B0": "blue",
    "B1": "green",
    "B2": "red",
    "B3": "nir",
    "B": "blue",
    "G": "green",
    "R": "red",
    "NIR": "nir",
    "RE": "rededge",
    "DB": "coastal",
}


def common_name(band_id: str) -> str | None:
    return V2_COMMON_NAMES.get(band_id.strip().upper())


# Nominal ranges of the DIMAP V2 missions, for files that omit Band_Spectral_Range (keyed by
# the SPOT/Pléiades ids; Pléiades Neo bands carry their own ids).
V2_NOMINAL: dict[str, dict[str, Band]] = {
    "spot": {
        "P": Band("P", "pan", 0.45, 0.745),
        "B0": Band("B0", "blue", 0.45, 0.52),
        "B1": Band("B1", "green", 0.53, 0.59),
        "B2": Band("B2", "red", 0.625, 0.695),
        "B3": Band("B3", "nir", 0.76, 0.89),
    },
    "pleiades": {
        "P": Band("P", "pan", 0.47, 0.83),
        "B0": Band("B0", "blue", 0.43, 0.55),
        "B1": Band("B1", "green", 0.50, 0.62),
        "B2": Band("B2", "red", 0.59, 0.71),
        "B3": Band("B3", "nir", 0.74, 0.94),
    },
    "pleiades-neo": {
        "P": Band("PAN", "pan", 0.45, 0.80),
        "B0": Band("B", "blue", 0.45, 0.52),
        "B1": Band("G", "green", 0.53, 0.59),
        "B2": Band("R", "red", 0.62, 0.69),
        "B3": Band("NIR", "nir", 0.77, 0.88),
        "B4": Band("RE", "rededge", 0.70, 0.75),
        "B5": Band("DB", "coastal", 0.40, 0.45),
    },
}


def nominal_bands(constellation: str, spectral_mode: str | None, count: int | None) -> list[Band]:
    """The bands a product of this mode most likely holds, in file order (R, G, B, NIR…)."""
    table = V2_NOMINAL.get(constellation, {})
    mode = (spectral_mode or "").upper()
    if mode in ("P", "PAN") or count == 1:
        ids = ["P"]
    elif count == 6:
        ids = ["B2", "B1", "B0", "B3", "B4", "B5"]
    elif count == 3:
        ids = ["B2", "B1", "B0"]
    else:
        ids = ["B2", "B1", "B0", "B3"]
    return [table[i] for i in ids if i in table]


# SPOT 1-5 instruments (HRV, HRVIR, HRG): nominal ranges from the SPOT user handbooks.
V1_BANDS: dict[str, dict[str, Band]] = {
    "hrv": {
        "XS1": Band("XS1", "green", 0.50, 0.59),
        "XS2": Band("XS2", "red", 0.61, 0.68),
        "XS3": Band("XS3", "nir", 0.79, 0.89),
        "PAN": Band("PAN", "pan", 0.51, 0.73),
    },
    "hrvir": {
        "XS1": Band("XS1", "green", 0.50, 0.59),
        "XS2": Band("XS2", "red", 0.61, 0.68),
        "XS3": Band("XS3", "nir", 0.78, 0.89),
        "SWIR": Band("SWIR", "swir16", 1.58, 1.75),
        "M": Band("M", "red", 0.61, 0.68),
    },
    "hrg": {
        "XS1": Band("XS1", "green", 0.50, 0.59),
        "XS2": Band("XS2", "red", 0.61, 0.68),
        "XS3": Band("XS3", "nir", 0.78, 0.89),
        "SWIR": Band("SWIR", "swir16", 1.58, 1.75),
        "PAN": Band("PAN", "pan", 0.48, 0.71),
    },
}
