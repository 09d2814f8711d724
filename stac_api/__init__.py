"""The DINAMIS STAC application: app factory, settings, CLI (`dinamis`), error mapping."""
