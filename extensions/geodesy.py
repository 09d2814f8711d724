"""Areas on the WGS84 ellipsoid: what Airbus bills and quotas count, whatever the latitude."""

from __future__ import annotations

import shapely
from pyproj import Geod

GEOD = Geod(ellps="WGS84")


def area_km2(geometry: shapely.Geometry) -> float:
    """Geodesic area of the polygons of a longitude/latitude geometry, in km².

    pyproj adds the signed areas of rings, so each polygon is oriented first (two parts drawn
    in opposite directions must not cancel out), and lines and points, which pyproj would
    close into rings, count for nothing.
    """
    parts = shapely.get_parts(shapely.get_parts(geometry))  # collections, then multi-parts
    polygons = shapely.orient_polygons(parts[shapely.get_type_id(parts) == 3])  # 3: Polygon
    return sum(abs(GEOD.geometry_area_perimeter(p)[0]) for p in polygons) / 1e6
