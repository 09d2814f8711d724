"""Registry plugin: entities, accounts, licences and adhesion flows (SPEC §7).

Optional: the core runs without it. It plugs into the core through the interfaces defined in
`extensions` (identity, mail, jobs, web pages) and is found through the `dinamis.plugins`
entry point.
"""

from registry_plugin.plugin import RegistryPlugin

plugin = RegistryPlugin()

__all__ = ["RegistryPlugin", "plugin"]
