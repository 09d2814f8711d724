"""STAC JSON schemas served from local copies to tools that fetch them from the web.

Validators (stac-api-validator, stac-validator, pystac) download every schema they check
against; these machines have no internet. The exact published schemas are answered from disk
for their own URLs: on the HTTP stacks those tools use (requests and urllib), and through
pystac's own validator, whose schema cache is filled from the same copies. Nothing is
weakened: a schema with no local copy, or any other external URL, fails as it would offline,
so a check can never pass by being skipped.

Run the official validator offline with:
    python -m tests.offline_schemas --root-url http://127.0.0.1:8080/ --conformance core ...
"""

from __future__ import annotations

import io
import json
import re
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from functools import cache
from pathlib import Path
from urllib.response import addinfourl

import pystac.validation
import responses
from pystac.validation import JsonSchemaSTACValidator
from pystac.validation.local_validator import get_local_schema_cache

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_HOSTS = re.compile(
    r"^https?://(schemas\.stacspec\.org|stac-extensions\.github\.io|geojson\.org)/"
)
EXTENSION_URL = re.compile(r"^https://stac-extensions\.github\.io/([^/]+)/(v[^/]+)/schema\.json")
LOCAL = re.compile(r"^https?://(127\.0\.0\.1|localhost)[:/]")


@cache
def core_schemas() -> dict[str, bytes]:
    return {url: json.dumps(schema).encode() for url, schema in get_local_schema_cache().items()}


def extension_schemas() -> dict[str, dict[str, object]]:
    """Every local extension schema by its published URL."""
    found = {}
    for path in sorted((SCHEMA_DIR / "extensions").glob("*/*/schema.json")):
        name, version = path.parent.parent.name, path.parent.name
        found[f"https://stac-extensions.github.io/{name}/{version}/schema.json"] = json.loads(
            path.read_text()
        )
    return found


def local_schema(url: str) -> bytes | None:
    """The published schema at that URL, read from the local copies, or None."""
    url = url.split("#")[0]
    if url in core_schemas():
        return core_schemas()[url]
    if match := EXTENSION_URL.match(url):
        path = SCHEMA_DIR / "extensions" / match.group(1) / match.group(2) / "schema.json"
        if path.is_file():
            return path.read_bytes()
    return None


class LocalSchemaHandler(urllib.request.BaseHandler):
    """urllib: answers schema URLs from disk; other URLs go on to the normal handlers."""

    handler_order = 100  # before the default HTTP(S) handlers

    def _open(self, request: urllib.request.Request) -> addinfourl | None:
        url = request.full_url
        if not SCHEMA_HOSTS.match(url):
            return None
        body = local_schema(url)
        if body is None:
            raise urllib.error.HTTPError(url, 404, f"no local copy of {url}", Message(), None)
        headers = Message()
        headers["Content-Type"] = "application/schema+json"
        return addinfourl(io.BytesIO(body), headers, url, 200)

    https_open = _open
    http_open = _open


@contextmanager
def offline_schemas() -> Iterator[None]:
    def answer(request):  # type: ignore[no-untyped-def]
        body = local_schema(request.url)
        if body is None:
            return 404, {}, f"no local copy of {request.url}"
        return 200, {"Content-Type": "application/schema+json"}, body

    previous = urllib.request._opener  # type: ignore[attr-defined]
    urllib.request.install_opener(urllib.request.build_opener(LocalSchemaHandler()))
    previous_validator = pystac.validation.RegisteredValidator.get_validator()
    validator = JsonSchemaSTACValidator()
    validator.schema_cache.update(extension_schemas())
    pystac.validation.set_validator(validator)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_passthru(LOCAL)
            mock.add_callback(responses.GET, SCHEMA_HOSTS, callback=answer)
            yield
    finally:
        urllib.request.install_opener(previous)  # type: ignore[arg-type]
        pystac.validation.set_validator(previous_validator)


def main() -> None:
    from stac_api_validator.__main__ import main as validator

    with offline_schemas():
        validator(sys.argv[1:], standalone_mode=True)


if __name__ == "__main__":
    main()
