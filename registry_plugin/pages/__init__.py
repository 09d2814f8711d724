"""The registry's French pages, server-rendered and usable without JavaScript."""

from registry_plugin.pages import admin, portal, relays, session, statistics

routers = [portal.router, session.router, admin.router, relays.router, statistics.router]
