"""The embedded cluster: created once, started idempotently, run unprivileged, stopped cleanly."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from pgstac.cluster import ROOT_FALLBACK_DIR, ClusterError, EmbeddedCluster
from pgstac.db import connect
from pgstac.settings import ClusterSettings

ROOT = Path(__file__).resolve().parents[1]

AS_ROOT = os.geteuid() == 0


@pytest.fixture
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="dinamis-cluster-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def process_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def test_life_cycle(scratch: Path) -> None:
    cluster = EmbeddedCluster(ClusterSettings(home=scratch))
    assert not cluster.status().running
    started = cluster.start()
    try:
        assert started.running and started.port and started.pid and started.dsn
        assert cluster.start().pid == started.pid  # idempotent
        if AS_ROOT:
            assert process_uid(started.pid) == pwd.getpwnam("postgres").pw_uid
        with connect(started.dsn) as conn:
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
            assert conn.execute("SHOW jit").fetchone() == ("off",)
            assert conn.execute("SELECT current_database()").fetchone() == ("dinamis",)
        state = (scratch / "cluster.json").stat()
        assert state.st_mode & 0o077 == 0  # the password file is private
        assert cluster.stop()
        assert not cluster.status().running
        assert not cluster.stop()
        assert cluster.start().port == started.port  # the port is kept
    finally:
        cluster.stop()


def test_migrate_is_idempotent(database: str) -> None:
    first, _ = migrate_all(database, load_plugins(DEFAULT_PLUGINS))
    again, changes = migrate_all(database, load_plugins(DEFAULT_PLUGINS))
    assert first == again
    assert changes == []  # the licences are loaded once
    assert first.pgstac_version == "0.10.0"
    # Each schema at its newest migration (the revisions are numbered as their files).
    heads = {
        schema: max(p.name[:4] for p in (ROOT / folder / "migrations/versions").glob("0*.py"))
        for schema, folder in (
            ("dinamis", "pgstac"),
            ("registry", "registry_plugin"),
            ("ordering", "ordering_plugin"),
        )
    }
    assert first.schemas == heads


def test_a_taken_fixed_port_is_reported(scratch: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cluster = EmbeddedCluster(ClusterSettings(home=scratch, port=port))
        with pytest.raises(ClusterError, match=f"Port {port}"):
            cluster.start()


@pytest.mark.skipif(not AS_ROOT, reason="only root hands the cluster to another user")
def test_unreachable_home_moves_the_data_dir(scratch: Path) -> None:
    private = scratch / "private"
    private.mkdir(mode=0o700)
    cluster = EmbeddedCluster(ClusterSettings(home=private / "project" / ".dinamis"))
    assert cluster.data_dir.is_relative_to(ROOT_FALLBACK_DIR)
