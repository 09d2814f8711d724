"""The data files of a search, downloaded in byte ranges fetched in parallel. Each range is
kept in its own `.part` file (named by its bytes) until the whole file is there and checked,
so that an interrupted download resumes where each range stopped."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pystac
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from dinamis_client.session import ACCESS, EXPIRES, AccessRefused, Session, reason

SEGMENT_MIN = 256 * 1024
"""The smallest range worth a request of its own."""
CONTENT_RANGE = re.compile(r"bytes \d+-\d+/(\d+)")
# Multihash codes of `file:checksum` (https://github.com/multiformats/multicodec).
MULTIHASH = {0x11: "sha1", 0x12: "sha256", 0x13: "sha512", 0xD5: "md5", 0xB220: "blake2b"}


class DownloadFailed(Exception):
    pass


@dataclass
class DataFile:
    """One asset file of an item and what it must be once downloaded."""

    label: str
    href: str
    path: Path
    size: int | None = None
    checksum: str | None = None
    total: int = 0
    parts: list[tuple[int, int]] = field(default_factory=list)
    error: str | None = None

    def part(self, start: int, end: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{start}-{end}.part")


@dataclass
class Report:
    downloaded: list[Path] = field(default_factory=list)
    present: list[Path] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not (self.refused or self.failed)


def hasher(checksum: str) -> tuple[Any, str]:
    """A hashlib object for a `file:checksum` multihash (hex), and the digest it must give."""
    raw = bytes.fromhex(checksum)
    code, length, rest = raw[0], raw[1], raw[2:]
    if code & 0x80:  # a two-byte varint (blake2b-512: 0xb240)
        code, length, rest = (raw[0] & 0x7F) | (raw[1] << 7), raw[2], raw[3:]
    name = MULTIHASH.get(code)
    if name is None or len(rest) != length:
        raise DownloadFailed(f"unsupported file:checksum {checksum}")
    return (hashlib.blake2b() if name == "blake2b" else hashlib.new(name)), rest.hex()


def verify(path: Path, size: int | None, checksum: str | None) -> str | None:
    """Why a file is not the one expected (None when it is)."""
    actual = path.stat().st_size
    if size is not None and actual != size:
        return f"{actual} bytes instead of {size}"
    if checksum:
        digest, expected = hasher(checksum)
        with path.open("rb") as file:
            while block := file.read(1 << 20):
                digest.update(block)
        if digest.hexdigest() != expected:
            return "checksum mismatch (file:checksum)"
    return None


def data_keys(item: dict[str, Any], keys: Sequence[str] | None) -> list[str]:
    assets = item.get("assets") or {}
    if keys:
        return [key for key in keys if key in assets]
    return [key for key, asset in assets.items() if "data" in (asset.get("roles") or [])]


class Downloader:
    def __init__(
        self,
        session: Session,
        out: Path,
        parallel: int = 4,
        keys: Sequence[str] | None = None,
        console: Console | None = None,
    ) -> None:
        self.session = session
        self.out = out
        self.parallel = max(parallel, 1)
        self.keys = keys
        self.console = console or Console(stderr=True)
        self.report = Report()

    # -- items ---------------------------------------------------------------------------------

    def run(self, items: Iterable[dict[str, Any]]) -> Report:
        files: list[DataFile] = []
        for item in items:
            label = f"{item.get('collection')}/{item.get('id')}"
            refusal = self.refusal(item)
            if refusal is not None:
                self.report.refused[label] = refusal
                self.console.print(f"[red]✗ {label}[/]: {refusal}")
                continue
            files += self.plan(item, label)
        self.fetch(files)
        return self.report

    def refusal(self, item: dict[str, Any]) -> str | None:
        """Why the account may not download this item, in the server's words; None if it may."""
        verdict = (item.get("properties") or {}).get(ACCESS)
        if verdict in (None, "downloadable"):
            return None
        for key in data_keys(item, self.keys):
            answer = self.session.http.get(
                item["assets"][key]["href"], headers=self.session.headers
            )
            if answer.status_code >= 400:
                return reason(answer)
        return str(verdict)

    def plan(self, item: dict[str, Any], label: str) -> list[DataFile]:
        """The item's data files, and its metadata (`item.json`, hrefs to the local files)."""
        folder = self.out / str(item.get("collection")) / str(item.get("id"))
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        local = pystac.Item.from_dict(item, preserve_dict=True)
        for key in data_keys(item, self.keys):
            asset = item["assets"][key]
            name = Path(unquote(urlsplit(asset["href"]).path)).name
            files.append(
                DataFile(
                    label=f"{label} {key}",
                    href=asset["href"],
                    path=folder / name,
                    size=asset.get("file:size"),
                    checksum=asset.get("file:checksum"),
                )
            )
            local.assets[key].href = name
            local.assets[key].extra_fields.pop(EXPIRES, None)
        local.set_self_href(None)
        (folder / "item.json").write_text(json.dumps(local.to_dict(include_self_link=False)))
        return files

    # -- files ---------------------------------------------------------------------------------

    def fetch(self, files: list[DataFile]) -> None:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with (
            Progress(*columns, console=self.console) as progress,
            ThreadPoolExecutor(self.parallel) as pool,
        ):
            pending: list[tuple[DataFile, TaskID, list[Future[None]]]] = []
            for file in files:
                try:
                    if self.prepare(file):
                        self.report.present.append(file.path)
                        continue
                except (httpx.HTTPError, AccessRefused, DownloadFailed) as error:
                    self.fail(file, str(error))
                    continue
                have = sum(self.have(file, s, e) for s, e in file.parts)
                task = progress.add_task(file.label, total=file.total, completed=have)
                jobs = [
                    pool.submit(self.fetch_part, file, s, e, progress, task) for s, e in file.parts
                ]
                pending.append((file, task, jobs))
            for file, task, jobs in pending:
                errors = [str(job.exception()) for job in jobs if job.exception() is not None]
                if errors:
                    self.fail(file, errors[0])
                    continue
                problem = self.assemble(file)
                progress.update(task, visible=False)
                if problem:
                    self.fail(file, problem)
                else:
                    self.report.downloaded.append(file.path)
                    self.console.print(f"[green]✓[/] {file.path} ({file.total} bytes, checked)")

    def fail(self, file: DataFile, problem: str) -> None:
        self.report.failed[file.label] = problem
        self.console.print(f"[red]✗ {file.label}[/]: {problem}")

    def prepare(self, file: DataFile) -> bool:
        """Asks the file's size (one byte's range) and plans its ranges, those of an
        interrupted download first; True when the file is already there and right."""
        try:
            file.total = self.size_of(file.href)
        except AccessRefused:
            renewed, _ = self.session.sign(file.href)  # an expired signature is signed again
            if renewed == file.href:
                raise
            file.href = renewed
            file.total = self.size_of(file.href)
        if file.size is not None and file.size != file.total:
            raise DownloadFailed(f"the server has {file.total} bytes, the item says {file.size}")
        if file.path.exists() and verify(file.path, file.total, file.checksum) is None:
            return True
        started = sorted(self.started_parts(file))
        if (
            started
            and started[0][0] == 0
            and started[-1][1] == file.total - 1
            and all(a[1] + 1 == b[0] for a, b in pairwise(started))
        ):
            file.parts = started
        else:
            for stale in started:
                file.part(*stale).unlink()
            size = max(-(-file.total // self.parallel), SEGMENT_MIN)
            file.parts = [
                (start, min(start + size, file.total) - 1) for start in range(0, file.total, size)
            ]
        return False

    def size_of(self, href: str) -> int:
        """The file's size, from the answer to its first byte's range."""
        with self.session.http.stream(
            "GET", href, headers={"Range": "bytes=0-0"}, follow_redirects=True
        ) as response:
            if response.status_code == 206:
                found = CONTENT_RANGE.match(response.headers.get("content-range", ""))
                if found:
                    return int(found.group(1))
            if response.status_code == 200 and "content-length" in response.headers:
                return int(response.headers["content-length"])
            response.read()
            if response.status_code in (401, 403):
                raise AccessRefused(reason(response))
            raise DownloadFailed(f"HTTP {response.status_code}: {reason(response)}")

    def started_parts(self, file: DataFile) -> list[tuple[int, int]]:
        pattern = re.compile(rf"{re.escape(file.path.name)}\.(\d+)-(\d+)\.part$")
        found = (pattern.match(p.name) for p in file.path.parent.glob(f"{file.path.name}.*.part"))
        return [(int(m.group(1)), int(m.group(2))) for m in found if m]

    def have(self, file: DataFile, start: int, end: int) -> int:
        part = file.part(start, end)
        return min(part.stat().st_size, end - start + 1) if part.exists() else 0

    def fetch_part(
        self, file: DataFile, start: int, end: int, progress: Progress, task: TaskID
    ) -> None:
        """Fetches the bytes of one range that its `.part` file does not hold yet."""
        part = file.part(start, end)
        have = self.have(file, start, end)
        if part.exists() and part.stat().st_size > have:
            part.write_bytes(b"")
            have = 0
        if have == end - start + 1:
            return
        headers = {"Range": f"bytes={start + have}-{end}"}
        with (
            self.session.http.stream("GET", file.href, headers=headers, follow_redirects=True) as r,
            part.open("ab") as output,
        ):
            if r.status_code != 206:
                r.read()
                refused = r.status_code in (401, 403)
                problem = f"{reason(r)}{': run again to resume' if refused else ''}"
                raise (AccessRefused if refused else DownloadFailed)(problem)
            for chunk in r.iter_bytes():  # as received: a cut loses nothing read
                output.write(chunk)
                progress.advance(task, len(chunk))
        if part.stat().st_size != end - start + 1:
            raise DownloadFailed(
                f"the connection closed in bytes {start}-{end}: run again to resume"
            )

    def assemble(self, file: DataFile) -> str | None:
        """Joins the ranges into the file, checks it, and removes the parts; the reason when it
        is not the file expected (its parts are then removed too, to start afresh)."""
        whole = file.path.with_name(f"{file.path.name}.part")
        with whole.open("wb") as output:
            for start, end in file.parts:
                with file.part(start, end).open("rb") as part:
                    shutil.copyfileobj(part, output)
        for start, end in file.parts:
            file.part(start, end).unlink()
        problem = verify(whole, file.total, file.checksum)
        if problem:
            whole.unlink()
            return problem
        whole.replace(file.path)
        return None
