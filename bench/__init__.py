"""Benchmarks: scripts comparing DINAMIS STAC with the plain components on the same data."""
