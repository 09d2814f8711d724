"""Ordering plugin: projects, archive and tasking requests, quotas and delivery (SPEC §6).

Optional: the core runs without it. It plugs into the core through the interfaces defined in
`extensions` (identity, rights, mail, jobs, the Airbus client) and is found through the
`dinamis.plugins` entry point.
"""

from ordering_plugin.plugin import OrderingPlugin

plugin = OrderingPlugin()

__all__ = ["OrderingPlugin", "plugin"]
