"""STAC API extensions of DINAMIS: asset access, and later signing, facets, federation, tiles."""
