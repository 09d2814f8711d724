"""Registry plugin: entities, accounts, licences and adhesion flows (SPEC §7).

Optional: the core runs without it. It plugs into the core through the interfaces defined in
`extensions` and is discovered through the `dinamis.plugins` entry point.
"""
