"""Areas on the WGS84 ellipsoid: what Airbus bills and quotas count, whatever the latitude."""

from __future__ import annotations

import shapely
from pyproj import Geod

GEOD = Geod(ellps="WGS84")


def area_km2(geometry: shapely.Geometry) -> float:
    """Geodesic area of a longitude/latitude geometry, in km²."""
    return abs(GEOD.geometry_area_perimeter(geometry)[0]) / 1e6
