"""Faults, with real parts and bounded in time: PostgreSQL restarted under searches and a
harvest, the Airbus archive slow, down or answering garbage, the SMTP server down then back,
a job worker killed in the middle of a delivery, and a full disk under a delivery.

Each test says what it asked and what it got (`-s` shows the figures)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller

from extensions.assets import StorageSettings
from extensions.database import Database
from extensions.federation.settings import OneAtlasSettings
from extensions.jobs import JobSettings, make_jobs, retry_stalled_jobs
from extensions.mail import MailSettings, mail_tasks
from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from ingest.harvest import HarvestOptions, HarvestReport, harvest
from ingest.loader import load_items
from ingest.sources import SourceSpec
from pgstac.cluster import EmbeddedCluster, free_port
from pgstac.db import DatabaseUnavailable, connect, wait_for_database
from pgstac.settings import ClusterSettings, DatabaseSettings
from simulators.archive import generate_items
from simulators.oneatlas import SimulatorSettings
from tests.airbus import running_simulator
from tests.conftest import make_app
from tests.registry import INSTRUCTOR, bearer
from tests.test_federation import KEY, oneatlas
from tests.test_ordering import (
    BRUCE,
    act,
    archive_body,
    commandable,
    new_project,
    order,
    wait_for,
)

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "dimap" / "v2"
SPOT6 = SAMPLES / "DIM_SPOT6_PMS_202012141415240_ORT_5588528101.XML"
PRODUCTS = 400
PRODUCT_PREFIX = "SPOT6_PMS_202012141415240_ORT_9"


def tally(outcomes: list[tuple[str, int]]) -> str:
    counts = Counter(f"{path} {status}" for path, status in outcomes)
    return ", ".join(f"{key}: {n}" for key, n in sorted(counts.items()))


# -- PostgreSQL restarted ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_cluster(database: str, home: Path) -> Iterator[EmbeddedCluster]:
    """A cluster of this module's own, which the restart test stops and starts again without
    disturbing the session's: a copy of the session's embedded cluster (migrated already), or
    a new one beside the database the tests were given."""
    settings = ClusterSettings(home=home / "faults-cluster")
    if os.environ.get("DINAMIS_TEST_DATABASE_URL"):
        cluster = EmbeddedCluster(settings)
        status = cluster.start()
        assert status.dsn is not None
        migrate_all(status.dsn, load_plugins(DEFAULT_PLUGINS))
    else:
        session = EmbeddedCluster(ClusterSettings(home=home / "cluster"))
        cluster = session.copy(settings, standby=False)
        status = cluster.start()
        assert status.dsn is not None
    load_items(status.dsn, list(generate_items(50, 3)))
    yield cluster
    cluster.stop()


@pytest.fixture
def products(tmp_path: Path) -> Path:
    """PRODUCTS copies of a real SPOT 6 product, each under a name of its own (the item id)."""
    if not SPOT6.exists():
        pytest.skip(f"the real DIMAP samples ({SAMPLES}) are not on this machine")
    root = tmp_path / "archive"
    image = "IMG_SPOT6_PMS_202012141415240_ORT_5588528101_R1C1.JP2"
    for n in range(PRODUCTS):
        folder = root / f"p{n:03d}"
        folder.mkdir(parents=True)
        shutil.copy(SPOT6, folder / f"DIM_{PRODUCT_PREFIX}{n:03d}.XML")
        (folder / image).write_bytes(b"jp2")
    return root


def catalogue_counts(dsn: str) -> tuple[int, int, int, int]:
    """Items, harvested products, their distinct items, and the other items."""
    with connect(dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM items WHERE id LIKE %(p)s),"
            " (SELECT count(*) FROM dinamis.harvested WHERE key LIKE 'faults/%%'),"
            " (SELECT count(DISTINCT item_id) FROM dinamis.harvested WHERE key LIKE 'faults/%%'),"
            " (SELECT count(*) FROM items WHERE id NOT LIKE %(p)s)",
            {"p": PRODUCT_PREFIX + "%"},
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2], row[3]


async def test_postgresql_restarted_under_searches_and_a_harvest(
    own_cluster: EmbeddedCluster, storage_root: Path, products: Path
) -> None:
    """Searches and pages answer 503 with Retry-After while PostgreSQL is down, never 500,
    and answer again once it is back, without restarting the API; the harvest waits for it,
    then goes on and loads every product, nothing lost or doubled."""
    dsn = own_cluster.status().dsn
    assert dsn is not None
    others = catalogue_counts(dsn)[3]
    options = HarvestOptions(href_prefix="faults/", workers=1, chunk_size=5)
    app = make_app(dsn, storage_root)
    outcomes: list[tuple[str, int]] = []
    unclear: list[str] = []
    paths = ["/search?limit=5", "/collections/spot67/items?limit=2", "/registry/entities"]
    page = "/portail"

    async def ask(http: httpx.AsyncClient, path: str) -> int:
        response = await http.get(path, headers={"Accept": "text/html"} if path == page else {})
        outcomes.append((path, response.status_code))
        if response.status_code != 200 and not (
            response.status_code == 503
            and response.headers.get("retry-after", "").isdigit()
            and (path == page or response.json()["code"] == "ServiceUnavailable")
        ):
            unclear.append(f"{path}: {response.status_code} {response.text[:300]}")
        return response.status_code

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://t",
        ) as http,
    ):
        for path in [*paths, page]:
            assert await ask(http, path) == 200, unclear

        started, stopped = threading.Event(), threading.Event()
        raised: list[BaseException] = []

        def first_harvest() -> HarvestReport | None:
            def progress(done: int, total: int) -> None:
                if done >= 20:
                    started.set()
                    stopped.wait(30)  # goes on once PostgreSQL is down: it cannot finish first

            try:
                return harvest(SourceSpec(str(products)), dsn, options, progress=progress)
            except Exception as exc:  # it should not: it waits for the database
                raised.append(exc)
                return None
            finally:
                started.set()

        harvesting = asyncio.create_task(asyncio.to_thread(first_harvest))
        restarted = asyncio.Event()

        async def restart() -> None:
            await asyncio.to_thread(started.wait, 30)
            await asyncio.to_thread(own_cluster.stop)
            stopped.set()
            await asyncio.sleep(2)  # down for a while: every request meanwhile says so
            await asyncio.to_thread(own_cluster.start)
            restarted.set()

        restarting = asyncio.create_task(restart())
        deadline = time.monotonic() + 40
        while not restarted.is_set():
            assert time.monotonic() < deadline, "PostgreSQL did not restart"
            for path in [*paths, page]:
                await ask(http, path)
            await asyncio.sleep(0.05)
        await restarting
        during = len(outcomes)
        back: dict[str, float] = {}
        while len(back) < len(paths) + 1:
            assert time.monotonic() < deadline, f"not answering again: {outcomes[-8:]}"
            for path in [*paths, page]:
                if await ask(http, path) == 200:
                    back.setdefault(path, time.monotonic())
            await asyncio.sleep(0.05)
        first = await harvesting

    print(
        f"\nrestart: {len(outcomes)} requests ({during} until PostgreSQL was back): "
        f"{tally(outcomes)}; harvest: "
        + (
            repr(raised[0])
            if raised or first is None
            else f"{first.loaded} loaded, {first.failed} failed in {first.seconds} s"
        )
    )
    assert not unclear, unclear
    assert any(status == 503 for _, status in outcomes), "the fault was not seen"
    # The harvest went on writing while PostgreSQL was down (its progress waited for that).
    assert not raised, raised
    assert first is not None and first.failed == 0, first and first.failures[:3]
    assert first.loaded == PRODUCTS
    assert catalogue_counts(dsn) == (PRODUCTS, PRODUCTS, PRODUCTS, others)
    assert harvest(SourceSpec(str(products)), dsn, options).skipped == PRODUCTS


def test_a_database_that_does_not_come_back_stops_the_wait() -> None:
    """A bulk job waits for its database a bounded time, then says why it stops."""
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="has not answered for 1 s"):
        wait_for_database(f"postgresql://dinamis@127.0.0.1:{free_port()}/dinamis", 1)
    assert time.monotonic() - started < 10


# -- the SMTP server down, then back ------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


def ours(recipients: list[str], addresses: list[str]) -> list[str]:
    return [r for r in recipients if r in addresses]


def outbox(database: str, addresses: list[str]) -> list[tuple[str, int]]:
    with psycopg.connect(database) as conn:
        return [
            (status, attempts)
            for status, attempts in conn.execute(
                "SELECT status, attempts FROM dinamis.outbox WHERE recipients && %s::text[]",
                [addresses],
            )
        ]


async def test_smtp_down_then_back_every_mail_delivered_once(
    database: str, storage_root: Path, registry_demo: list[str]
) -> None:
    """Mails written while the SMTP server is down stay queued, and each is delivered exactly
    once when it is back (the job queue's retry)."""
    port = free_port()  # nothing listens there yet
    mail = MailSettings(smtp_host="127.0.0.1", smtp_port=port, security="none", timeout_seconds=2)
    app = make_app(database, storage_root, mail=mail, jobs=JobSettings())
    addresses = [f"faults-{uuid.uuid4().hex[:8]}-{n}@exemple.fr" for n in range(5)]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    statuses = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        for address in addresses:
            response = await http.post(
                "/registry/email-verifications", json={"email": address, "purpose": "adhesion"}
            )
            statuses.append(response.status_code)
        assert statuses == [202] * len(addresses)
        deadline = time.monotonic() + 20
        while not all(attempts >= 1 for _, attempts in outbox(database, addresses)):
            assert time.monotonic() < deadline, outbox(database, addresses)
            await asyncio.sleep(0.2)
        down = outbox(database, addresses)
        assert down == [("queued", 1)] * len(addresses), down  # failed once, kept
        controller.start()
        try:
            deadline = time.monotonic() + 45
            # The worker also delivers mails other tests left queued in the shared database.
            while sorted(ours(inbox.recipients, addresses)) != sorted(addresses):
                assert time.monotonic() < deadline, (inbox.recipients, outbox(database, addresses))
                await asyncio.sleep(0.2)
            await asyncio.sleep(1)  # anything sent twice would be here by now
        finally:
            controller.stop()
    after = outbox(database, addresses)
    print(
        f"\nsmtp: {len(statuses)} requests answered {Counter(statuses)}; while down: {down}; "
        f"received {len(inbox.recipients)} for {len(addresses)} mails; outbox after: {after}"
    )
    assert sorted(ours(inbox.recipients, addresses)) == sorted(addresses)  # each once
    assert {status for status, _ in after} == {"sent"}


# -- the Airbus archive slow, down or answering garbage --------------------------------------


AIRBUS_KEY = "faults-simulator-key"


async def test_airbus_slow_down_or_garbage_local_search_unaffected(
    database: str, storage_root: Path, demo_items: list[dict[str, Any]], registry_demo: list[str]
) -> None:
    """Searches of the commandable archive fail with a bounded, clear 502/503/504 while the
    Airbus simulator is slow, answers garbage or errors, or is down; searches of the held
    archive answer meanwhile; once Airbus is back, the commandable archive answers again."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    simulator = SimulatorSettings(archive_size=500, seed=5, api_key=AIRBUS_KEY)
    settings = OneAtlasSettings(
        api_key=AIRBUS_KEY,
        auth_url=url,
        search_url=url,
        access_url=url,
        timeout_seconds=1.0,
        retries=1,
        breaker_threshold=3,
        breaker_seconds=1.0,
    )
    app = make_app(database, storage_root, oneatlas=settings)
    commandable = {"product_type": "commandable", "bbox": "-5.2,41.3,9.6,51.1", "limit": 5}
    held = {"limit": 5, "collections": "spot67"}
    outcomes: list[tuple[str, int]] = []
    unclear: list[str] = []

    async def round_of(http: httpx.AsyncClient, phase: str, expected: set[int]) -> None:
        """Commandable and held searches at once; each answer as expected, with a message."""
        asked = [commandable, held, commandable, {**held, "product_type": "all"}, held]
        answers = await asyncio.gather(*(http.get("/search", params=p) for p in asked))
        for params, answer in zip(asked, answers, strict=True):
            kind = "held" if params is not commandable else "commandable"
            outcomes.append((f"{phase} {kind}", answer.status_code))
            wanted = {200} if kind == "held" else expected
            body = answer.json()
            if answer.status_code not in wanted or (
                answer.status_code != 200 and not body.get("description")
            ):
                unclear.append(f"{phase} {kind}: {answer.status_code} {answer.text[:200]}")
            elif kind == "held" and not body["features"]:
                unclear.append(f"{phase} held: no feature")

    async def answers_again(http: httpx.AsyncClient, phase: str) -> None:
        """Once Airbus is back, the commandable searches answer again within a few rounds:
        a simulator just started may miss the first round's 1 s on a busy machine (the held
        searches answer 200 in every round)."""
        deadline = time.monotonic() + 15
        while True:
            before = len(unclear)
            await round_of(http, phase, {200})
            late = unclear[before:]
            held_failed = any(x.startswith(f"{phase} held") for x in late)
            if not late or held_failed or time.monotonic() > deadline:
                return
            del unclear[before:]
            await asyncio.sleep(1.1)  # past the circuit its timeouts may have opened

    async def configure(failure: str) -> None:
        async with httpx.AsyncClient() as direct:
            (await direct.post(f"{url}/_simulator", json={"failure": failure})).raise_for_status()

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        with running_simulator(simulator, port=port):
            await round_of(http, "up", {200})
            for failure, expected in (("slow", {504}), ("garbage", {502}), ("error", {502})):
                await configure(failure)
                for _ in range(2):  # the second round finds the circuit open (502 too)
                    await round_of(http, failure, expected | {502})
                await configure("none")
                await asyncio.sleep(1.1)  # the circuit lets a search try again
                await answers_again(http, f"after {failure}")
        for _ in range(2):  # the simulator stopped: nothing listens
            await round_of(http, "down", {502, 503})
        with running_simulator(simulator, port=port):
            await asyncio.sleep(1.1)
            await answers_again(http, "back")
    print(f"\nairbus: {len(outcomes)} requests: {tally(outcomes)}")
    assert not unclear, unclear


# -- a full disk under a delivery ---------------------------------------------------------------


def history(database: str, request_id: str) -> list[tuple[str, str | None]]:
    with psycopg.connect(database) as conn:
        return [
            (status, reason)
            for status, reason in conn.execute(
                "SELECT status, reason_code FROM ordering.statuses WHERE request_id = %s "
                "ORDER BY id",
                [request_id],
            )
        ]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A storage root whose deliveries folder is a 64 KiB tmpfs (a delivery does not fit)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    root = tmp_path / "storage"
    deliveries = root / "deliveries"
    deliveries.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(deliveries)], check=True)
    try:
        yield root
    finally:
        subprocess.run(["umount", "--lazy", str(deliveries)], check=False)


async def test_disk_full_while_writing_a_delivery(
    database: str,
    demo_items: list[dict[str, Any]],
    registry_demo: list[str],
    small_disk: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A delivery that does not fit on the disk is recorded on the request as a clear
    failure, and retried: once there is room, the request completes, once."""
    monkeypatch.setenv("DINAMIS_ORDERING_POLL_SECONDS", "1")
    simulator = SimulatorSettings(archive_size=3000, seed=23, api_key=KEY, delivery_seconds=1)
    with running_simulator(simulator) as url:
        settings = oneatlas(url, data_url=url, tasking_url=url, timeout_seconds=10.0)
        app = make_app(
            database,
            small_disk,
            storage=StorageSettings(root=small_disk),
            oneatlas=settings,
            jobs=JobSettings(),
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as desk,
        ):
            project = await new_project(desk)
            scene = await commandable(desk, "spot")
            filed = await order(desk, "airbus-archive-spot", archive_body(project, scene["id"]))
            assert filed.status_code == 201, filed.text
            request_id = filed.json()["id"]
            assert (await act(desk, request_id, "accept", INSTRUCTOR)).status_code == 200
            deadline = time.monotonic() + 30
            while ("processing", "delivery-storage") not in history(database, request_id):
                assert time.monotonic() < deadline, history(database, request_id)
                await asyncio.sleep(0.3)
            recorded = await desk.get(
                f"/ordering/orders/{request_id}/statuses", headers=await bearer(desk, BRUCE)
            )
            reasons = [s.get("reason_text") or "" for s in recorded.json()["statuses"]]
            assert any("disque" in r for r in reasons), recorded.json()
            room = ["mount", "-o", "remount,size=256m", str(small_disk / "deliveries")]
            await asyncio.to_thread(subprocess.run, room, check=True)
            done = await wait_for(desk, request_id, {"completed", "failed"}, seconds=40)
    events = history(database, request_id)
    print(f"\ndisk full: request {request_id}: {events}")
    assert done["properties"]["status"]["status_code"] == "completed", events
    assert [s for s, _ in events].count("completed") == 1
    (delivered,) = done["properties"]["dinamis:delivered"]
    assert held_once(database, delivered)


def held_once(database: str, delivered: dict[str, str]) -> bool:
    """Whether the delivered item is in the catalogue once; it is removed after."""
    with psycopg.connect(database, autocommit=True, options="-c search_path=pgstac,public") as conn:
        held = conn.execute(
            "SELECT count(*) FROM items WHERE id = %s", [delivered["id"]]
        ).fetchone()
        conn.execute("SELECT delete_item(%s, %s)", [delivered["id"], delivered["collection"]])
    return held == (1,)


# -- a worker killed in the middle of a delivery ------------------------------------------------


def start_worker(
    database: str, storage: Path, url: str, home: Path, log: Path
) -> subprocess.Popen[bytes]:
    """A `dinamis worker` process, as production runs them, polling Airbus every second."""
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "DINAMIS_HOME": str(home),
        "DINAMIS_STORAGE_ROOT": str(storage),
        "DINAMIS_ORDERING_POLL_SECONDS": "1",
        "DINAMIS_ONEATLAS_API_KEY": KEY,
        **{
            f"DINAMIS_ONEATLAS_{part}_URL": url
            for part in ("AUTH", "SEARCH", "ACCESS", "DATA", "TASKING")
        },
    }
    dinamis = Path(sys.executable).parent / "dinamis"
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(dinamis), "worker", "--concurrency", "2"], env=env, stdout=output, stderr=output
        )


async def test_worker_killed_mid_delivery_the_order_completes_once(
    database: str,
    demo_items: list[dict[str, Any]],
    registry_demo: list[str],
    tmp_path: Path,
    home: Path,
) -> None:
    """A worker killed (SIGKILL) while it downloads a delivery: another worker, with the
    connector's sweep, completes the request, once."""
    storage = tmp_path / "storage"
    storage.mkdir()
    log = tmp_path / "worker.log"
    simulator = SimulatorSettings(archive_size=3000, seed=23, api_key=KEY, delivery_seconds=1)
    with running_simulator(simulator) as url:
        settings = oneatlas(url, data_url=url, tasking_url=url, timeout_seconds=10.0)
        app = make_app(database, storage, storage=StorageSettings(root=storage), oneatlas=settings)
        worker = start_worker(database, storage, url, home, log)
        try:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://t"
                ) as desk,
                httpx.AsyncClient(base_url=url) as airbus,
            ):
                project = await new_project(desk)
                scene = await commandable(desk, "spot")
                filed = await order(desk, "airbus-archive-spot", archive_body(project, scene["id"]))
                assert filed.status_code == 201, filed.text
                request_id = filed.json()["id"]
                slow = {"latency_ms": 2000, "delivery_seconds": 0}  # each Airbus call: 2 s
                (await airbus.post("/_simulator", json=slow)).raise_for_status()
                assert (await act(desk, request_id, "accept", INSTRUCTOR)).status_code == 200
                folder = storage / "deliveries" / request_id
                deadline = time.monotonic() + 40
                while not folder.exists():
                    assert time.monotonic() < deadline, (
                        history(database, request_id),
                        log.read_text()[-3000:],
                    )
                    await asyncio.sleep(0.1)
                worker.kill()  # in the middle of the download
                await asyncio.to_thread(worker.wait, 10)
                killed_at = history(database, request_id)
                (await airbus.post("/_simulator", json={"latency_ms": 0})).raise_for_status()
                worker = start_worker(database, storage, url, home, log)
                # The connector's sweep (every minute) now: it takes up what the killed job left.
                jobs = app.state.services.jobs
                await jobs.configure_task("ordering:sweep").defer_async(timestamp=int(time.time()))
                done = await wait_for(desk, request_id, {"completed", "failed"}, seconds=40)
        finally:
            worker.kill()
            worker.wait(timeout=10)
    events = history(database, request_id)
    print(f"\nworker killed: at {killed_at}; then {events}")
    assert done["properties"]["status"]["status_code"] == "completed", (
        events,
        log.read_text()[-3000:],
    )
    assert [s for s, _ in events].count("completed") == 1
    (delivered,) = done["properties"]["dinamis:delivered"]
    assert held_once(database, delivered)


async def test_a_job_whose_worker_died_runs_again(database: str) -> None:
    """A worker killed while it ran a job left that job `doing` for ever; the queue's upkeep
    runs it again once its worker has sent no heartbeat for a minute."""
    async with Database.open(DatabaseSettings(url=database), "stalled-test") as db:
        jobs = make_jobs({"core": mail_tasks()})
        async with jobs.open_async(db.pool):
            manager = jobs.job_manager
            job_id = await jobs.configure_task(
                "core:sweep_outbox", queue="stalled-test"
            ).defer_async(timestamp=0)
            worker = await manager.register_worker()
            fetched = await manager.fetch_job(["stalled-test"], worker)
            assert fetched is not None and fetched.id == job_id
            with psycopg.connect(database) as conn:
                conn.execute(
                    "UPDATE jobs.procrastinate_workers "
                    "SET last_heartbeat = now() - interval '1 hour' WHERE id = %s",
                    (worker,),
                )
            await retry_stalled_jobs(SimpleNamespace(app=jobs), 0)  # type: ignore[arg-type]
            [status] = [j.status for j in await manager.list_jobs_async(id=job_id)]
            assert status == "todo"
            await manager.cancel_job_by_id_async(job_id, delete_job=True)


async def test_no_lane_runs_a_query_unbounded(database: str) -> None:
    """Both lanes, the catalogue's and the application's (registry, ordering, job queue),
    stop a query that runs longer than the statement timeout."""
    settings = DatabaseSettings(url=database, statement_timeout_ms=1234)
    async with Database.open(settings, "bounded-test") as db:
        async with db.read() as conn:
            assert await conn.fetchval("SHOW statement_timeout") == "1234ms"
        async with db.pool.connection() as app_conn:
            shown = await (await app_conn.execute("SHOW statement_timeout")).fetchone()
    assert shown == ("1234ms",)
