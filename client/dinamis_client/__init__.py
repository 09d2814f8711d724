"""A light client of a DINAMIS STAC catalogue: sign in, sign asset URLs (a pystac-client
modifier), download the data of a search."""

from dinamis_client.session import AccessRefused, DinamisError, Session, SignInFailed

__all__ = ["AccessRefused", "DinamisError", "Session", "SignInFailed"]
