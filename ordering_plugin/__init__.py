"""Ordering plugin: projects, archive and tasking requests, quotas and delivery (SPEC §6).

Optional: the core runs without it. It plugs into the core through the interfaces defined in
`extensions` and is discovered through the `dinamis.plugins` entry point.
"""
