"""Real, small image files for the demo archive: COGs, quicklooks and thumbnails.

Each collection gets a few synthetic scenes (water, forest, fields, towns) written as
Cloud-Optimized GeoTIFFs with the collection's bands and bit depth; demo items share them, so
downloads, range reads and tiles always have real bytes behind them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin

DEMO_PREFIX = "demo"
VARIANTS = 4
SIZE = 512
THUMBNAIL_SIZE = 256
# Lambert-93 around Montpellier; each variant sits next to the previous one.
ORIGIN_X, ORIGIN_Y, PIXEL_M = 760_000.0, 6_290_000.0, 20.0


@dataclass(frozen=True)
class RasterKind:
    """Bands (in file order, by common name) and bit depth of a collection's products."""

    bands: tuple[str, ...]
    dtype: str
    max_value: int


RASTER_KINDS: dict[str, RasterKind] = {
    "spot-swh": RasterKind(("green", "red", "nir"), "uint8", 255),
    "spot67": RasterKind(("red", "green", "blue", "nir"), "uint16", 4095),
    "pleiades": RasterKind(("red", "green", "blue", "nir"), "uint16", 4095),
    "pleiades-pwh": RasterKind(("red", "green", "blue", "nir"), "uint16", 4095),
    "pleiades-neo": RasterKind(("red", "green", "blue", "nir"), "uint16", 4095),
}

# Surface reflectance per land cover and band (typical values, 0-1).
REFLECTANCE = {
    "water": {"blue": 0.06, "green": 0.05, "red": 0.03, "nir": 0.02},
    "forest": {"blue": 0.03, "green": 0.06, "red": 0.03, "nir": 0.35},
    "field": {"blue": 0.06, "green": 0.10, "red": 0.09, "nir": 0.30},
    "town": {"blue": 0.18, "green": 0.19, "red": 0.21, "nir": 0.24},
}


def demo_hrefs(collection: str, variant: int) -> dict[str, str]:
    """Storage-relative hrefs of one demo scene's files, by asset key."""
    stem = f"{DEMO_PREFIX}/{collection}/scene-{variant}"
    return {
        "data": f"{stem}.tif",
        "overview": f"{stem}-preview.jpg",
        "thumbnail": f"{stem}-thumb.jpg",
    }


def ensure_demo_rasters(root: Path) -> None:
    """Write the demo files that are missing under the storage root."""
    for collection, kind in RASTER_KINDS.items():
        for variant in range(VARIANTS):
            paths = {k: root / v for k, v in demo_hrefs(collection, variant).items()}
            if all(p.exists() for p in paths.values()):
                continue
            rng = np.random.default_rng([sum(map(ord, collection)), variant])
            image = synthetic_scene(rng, kind)
            paths["data"].parent.mkdir(parents=True, exist_ok=True)
            write_cog(paths["data"], image, kind, variant)
            rgb = display_rgb(image, kind)
            write_jpeg(paths["overview"], rgb)
            write_jpeg(
                paths["thumbnail"], rgb[:, :: SIZE // THUMBNAIL_SIZE, :: SIZE // THUMBNAIL_SIZE]
            )


def smooth_noise(rng: np.random.Generator, size: int, octaves: int = 5) -> np.ndarray:
    """Fractal noise in [0, 1]: a sum of bilinearly upsampled random grids."""
    field = np.zeros((size, size))
    for octave in range(1, octaves + 1):
        cells = 2**octave + 1
        field += upsample(rng.random((cells, cells)), size) * 0.5**octave
    field -= field.min()
    return field / field.max()


def upsample(grid: np.ndarray, size: int) -> np.ndarray:
    positions = np.linspace(0, grid.shape[0] - 1, size)
    i0 = np.clip(np.floor(positions).astype(int), 0, grid.shape[0] - 2)
    frac = positions - i0
    rows = grid[i0] * (1 - frac)[:, None] + grid[i0 + 1] * frac[:, None]
    return rows[:, i0] * (1 - frac)[None, :] + rows[:, i0 + 1] * frac[None, :]


def synthetic_scene(rng: np.random.Generator, kind: RasterKind) -> np.ndarray:
    """A plausible landscape as digital numbers, shape (bands, SIZE, SIZE)."""
    elevation, moisture, density = (smooth_noise(rng, SIZE) for _ in range(3))
    water = elevation < 0.22
    forest = ~water & (moisture > 0.58)
    town = ~water & ~forest & (density > 0.78)
    # Fields: a patchwork of parcels, each with its own crop and growth stage.
    parcel = (np.arange(SIZE)[:, None] // 24) * 97 + (np.arange(SIZE)[None, :] // 32)
    vigour = rng.uniform(0.3, 1.2, parcel.max() + 1)[parcel]
    image = np.empty((len(kind.bands), SIZE, SIZE), dtype=np.float64)
    for index, band in enumerate(kind.bands):
        # Vigorous crops reflect more near infrared and absorb more visible light.
        layer = REFLECTANCE["field"][band] * (vigour if band == "nir" else 1.5 - 0.6 * vigour)
        layer = np.where(forest, REFLECTANCE["forest"][band], layer)
        layer = np.where(town, REFLECTANCE["town"][band], layer)
        layer = np.where(water, REFLECTANCE["water"][band], layer)
        image[index] = layer * (1 + rng.normal(0, 0.04, (SIZE, SIZE)))
    scale = kind.max_value / 0.5  # reflectance 0.5 maps to the top of the range
    return np.clip(image * scale, 1, kind.max_value).astype(kind.dtype)


def write_cog(path: Path, image: np.ndarray, kind: RasterKind, variant: int) -> None:
    profile = {
        "driver": "COG",
        "width": SIZE,
        "height": SIZE,
        "count": image.shape[0],
        "dtype": kind.dtype,
        "crs": "EPSG:2154",
        "transform": from_origin(ORIGIN_X + variant * SIZE * PIXEL_M, ORIGIN_Y, PIXEL_M, PIXEL_M),
        "compress": "deflate",
        "blocksize": 256,
        "overview_resampling": "average",
        "nodata": 0,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(image)
        dst.descriptions = kind.bands


def display_rgb(image: np.ndarray, kind: RasterKind) -> np.ndarray:
    """8-bit true colour (false colour for SPOT 1-5, which has no blue band)."""
    order = ("red", "green", "blue") if "blue" in kind.bands else ("nir", "red", "green")
    rgb = np.stack([image[kind.bands.index(b)].astype(np.float64) for b in order])
    low, high = np.percentile(rgb, (2, 98))
    return (np.clip((rgb - low) / (high - low), 0, 1) * 255).astype(np.uint8)


def write_jpeg(path: Path, rgb: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(
            path,
            "w",
            driver="JPEG",
            width=rgb.shape[2],
            height=rgb.shape[1],
            count=3,
            dtype="uint8",
            quality=85,
        ) as dst:
            dst.write(rgb)
