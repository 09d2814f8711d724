"""Stand-ins for development, tests and benchmarks: the demo archive and its image files,
the registry's training scenario, and a simulator of Airbus OneAtlas (search, orders,
deliveries) that follows the real contract.

No package of the product imports this one: only `dinamis demo` and `dinamis serve` in
development mode, the tests and the benchmarks do (checked by `lint-imports`).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import entry_points

__all__ = ["load_plugin_demos"]

DEMOS = "dinamis.demos"


def load_plugin_demos(dsn: str, plugins: Sequence[str]) -> list[str]:
    """The demo data of the plugins named, found through the `dinamis.demos` entry points
    (idempotent); returns lines to show the user."""
    demos = {ep.name: ep for ep in entry_points(group=DEMOS)}
    return [line for name in plugins if name in demos for line in demos[name].load()(dsn)]
