"""`dinamis-client download`: the data files of a search, into a folder.

Credentials come from the options or the environment (`DINAMIS_API_KEY`, or
`DINAMIS_USERNAME` and `DINAMIS_PASSWORD`, or an OIDC device flow with `--oidc-issuer` and
`--oidc-client-id`); the exit status is 0 when every file was downloaded and checked, 1 when
some item was refused or some file failed (each is said), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console

from dinamis_client.download import Downloader
from dinamis_client.session import DinamisError, Session


def numbers(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: numbers separated by commas") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"{text!r}: west,south,east,north")
    return values


def names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="dinamis-client", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    download = commands.add_parser(
        "download", help="download the data files of a search", description=__doc__
    )
    download.add_argument(
        "--url", default=os.environ.get("DINAMIS_URL"), help="the catalogue (DINAMIS_URL)"
    )
    download.add_argument("--collections", type=names, help="e.g. pleiades,spot67")
    download.add_argument("--bbox", type=numbers, help="west,south,east,north in degrees")
    download.add_argument("--datetime", help="an instant or an interval: 2022-01-01/2022-12-31")
    download.add_argument("--ids", type=names, help="item ids, separated by commas")
    download.add_argument("--max-items", type=int, help="stop after this many items")
    download.add_argument("--assets", type=names, help="asset keys (default: the data assets)")
    download.add_argument("--out", type=Path, required=True, help="the folder to download to")
    download.add_argument("--parallel", type=int, default=4, help="byte ranges fetched at once")
    download.add_argument("--api-key", default=os.environ.get("DINAMIS_API_KEY"))
    download.add_argument("--username", default=os.environ.get("DINAMIS_USERNAME"))
    download.add_argument("--oidc-issuer", default=os.environ.get("DINAMIS_OIDC_ISSUER"))
    download.add_argument("--oidc-client-id", default=os.environ.get("DINAMIS_OIDC_CLIENT_ID"))
    return main


def main(argv: list[str] | None = None) -> int:
    options = parser().parse_args(argv)
    console = Console(stderr=True)
    if not options.url:
        console.print("[red]--url (or DINAMIS_URL) names the catalogue[/]")
        return 2
    if options.username and not os.environ.get("DINAMIS_PASSWORD"):
        console.print(f"[red]DINAMIS_PASSWORD holds the password of {options.username}[/]")
        return 2
    if options.oidc_issuer and not options.oidc_client_id:
        console.print(
            "[red]--oidc-client-id (or DINAMIS_OIDC_CLIENT_ID) goes with --oidc-issuer[/]"
        )
        return 2
    try:
        session = Session(
            options.url,
            api_key=options.api_key,
            username=options.username,
            password=os.environ.get("DINAMIS_PASSWORD"),
        )
        if options.oidc_issuer and not options.api_key and not options.username:
            session.sign_in_with_device(options.oidc_issuer, options.oidc_client_id, console.print)
        with session:
            items = session.search(
                max_items=options.max_items,
                collections=options.collections,
                bbox=options.bbox,
                datetime=options.datetime,
                ids=options.ids,
                limit=100,
            )
            report = Downloader(
                session, options.out, options.parallel, options.assets, console
            ).run(items)
    except DinamisError as error:
        console.print(f"[red]{error}[/]")
        return 1
    console.print(
        f"{len(report.downloaded)} downloaded, {len(report.present)} already there, "
        f"{len(report.refused)} item(s) refused, {len(report.failed)} failed."
    )
    return 0 if report.complete else 1


if __name__ == "__main__":
    sys.exit(main())
