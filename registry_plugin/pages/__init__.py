"""The registry's French pages, server-rendered and usable without JavaScript."""

from registry_plugin.pages import admin, portal, session

routers = [portal.router, session.router, admin.router]
