"""The embedded PostgreSQL cluster: one private server per project, created and started on demand.

`make run` must give a working product on a fresh machine with no configuration, so the CLI
creates a cluster under `DINAMIS_HOME` (default `.dinamis/`) with the OS's PostgreSQL binaries,
listens on 127.0.0.1 only, and authenticates with a generated password kept in
`<home>/cluster.json` (mode 0600). PostgreSQL refuses to run as root, so when the CLI is root
every server command runs as an unprivileged user (`postgres`) through `runuser`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgstac.settings import ClusterSettings

SUPERUSER = "dinamis"
ROOT_FALLBACK_DIR = Path("/var/lib/dinamis/clusters")


class ClusterError(RuntimeError):
    """The embedded cluster could not be created, started or stopped."""


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    data_dir: Path
    port: int | None
    pid: int | None
    dsn: str | None
    server_version: str


@cache
def find_bindir() -> Path:
    """The newest PostgreSQL server binaries on this machine."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if all((bindir / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise ClusterError(
        "PostgreSQL server binaries not found: run `make install` "
        "(or `apt-get install postgresql postgresql-15-postgis-3`)."
    )


def system_memory_bytes() -> int:
    """Physical memory, or the cgroup limit when the process runs in a smaller container."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            total = min(total, int(limit))
    return total


def tuning(memory_bytes: int) -> dict[str, str]:
    """Server settings for a pgstac catalogue of millions of scenes, sized to this machine.

    The reasons, since each departs from PostgreSQL's defaults:
    - shared_buffers = RAM/8 (128 MB..4 GB): the cluster shares the machine with the API and its
      workers; at 1 M items the hot partitions and their indexes (~1.5 GB) still fit.
    - effective_cache_size = RAM/2: lets the planner prefer index scans on partitions.
    - work_mem = 32 MB: pgstac sorts each search by datetime and facets aggregate by group; this
      keeps those in memory without risking RAM on many concurrent connections.
    - maintenance_work_mem = 512 MB: bulk loads build every partition's queryable indexes.
    - max_wal_size = 4 GB, checkpoint_timeout = 15 min: loading 1 M items without a checkpoint
      storm every few seconds.
    - random_page_cost = 1.1: SSD storage, random reads cost little more than sequential ones.
    - jit = off: JIT compilation costs 50-200 ms on pgstac's generated queries and never pays back
      on searches that return a page of 10-100 items.
    - max_locks_per_transaction = 512: a search spanning every partition locks each partition and
      each of its indexes; the default 64 fails with "out of shared memory" at a few hundred.
    - log_min_duration_statement = 1 s: slow searches are logged in server.log for inspection.
    """
    mb = memory_bytes // (1024 * 1024)
    shared_buffers = max(128, min(mb // 8, 4096))
    return {
        "shared_buffers": f"{shared_buffers}MB",
        "effective_cache_size": f"{max(512, mb // 2)}MB",
        "work_mem": "32MB",
        "maintenance_work_mem": "512MB",
        "max_wal_size": "4GB",
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
        "jit": "off",
        "max_locks_per_transaction": "512",
        "max_connections": "200",
        "timezone": "'UTC'",
        "log_min_duration_statement": "1000",
        "log_line_prefix": "'%m [%p] %u@%d '",
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class EmbeddedCluster:
    """Create, start, stop and report on the project's private PostgreSQL cluster."""

    def __init__(self, settings: ClusterSettings | None = None) -> None:
        self.settings = settings or ClusterSettings()
        self.as_root = os.geteuid() == 0

    # -- state ---------------------------------------------------------------------------------

    def _load_state(self) -> dict[str, Any]:
        path = self.settings.state_file
        return json.loads(path.read_text()) if path.exists() else {}

    def _save_state(self, state: dict[str, Any]) -> None:
        path = self.settings.state_file
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)

    @property
    def data_dir(self) -> Path:
        recorded = self._load_state().get("data_dir")
        return Path(recorded) if recorded else self._choose_data_dir()

    def _choose_data_dir(self) -> Path:
        """The configured data dir, unless root's unprivileged user cannot reach it.

        A checkout under /root (mode 0700) is common on CI machines: the `postgres` user cannot
        traverse it, so the cluster then lives under /var/lib/dinamis, keyed by the wanted path.
        """
        wanted = self.settings.pgdata
        if not self.as_root:
            return wanted
        wanted.parent.mkdir(parents=True, exist_ok=True)
        probe = subprocess.run(
            ["runuser", "-u", self.settings.os_user, "--", "test", "-x", str(wanted.parent)],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return wanted
        digest = hashlib.sha256(str(wanted).encode()).hexdigest()[:12]
        return ROOT_FALLBACK_DIR / digest

    # -- commands ------------------------------------------------------------------------------

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(find_bindir() / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", self.settings.os_user, "--", *command]
        return command

    def _run(
        self, tool: str, *args: str, password: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        # cwd="/" so the unprivileged user never starts in a directory it cannot read.
        return subprocess.run(
            self._command(tool, *args),
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            env={**os.environ, "PGPASSWORD": password} if password is not None else None,
        )

    def _new_data_dir(self) -> Path | None:
        """The data dir, made for the unprivileged user; None when it holds a cluster already."""
        data_dir = self.data_dir
        if (data_dir / "PG_VERSION").exists():
            return None
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        data_dir.chmod(0o700)
        self._give_to_os_user(data_dir)
        return data_dir

    def _give_to_os_user(self, path: Path) -> None:
        if self.as_root:
            shutil.chown(path, user=self.settings.os_user, group=None)

    def _check_os_user(self) -> None:
        if not self.as_root:
            return
        import pwd

        try:
            pwd.getpwnam(self.settings.os_user)
        except KeyError as exc:
            raise ClusterError(
                f"Running as root, the cluster must run as an unprivileged user, but user "
                f"{self.settings.os_user!r} does not exist. Install PostgreSQL from the OS "
                "packages (it creates `postgres`) or set DINAMIS_CLUSTER_OS_USER."
            ) from exc

    # -- life cycle ----------------------------------------------------------------------------

    def init(self) -> None:
        """Create the cluster once; a no-op when it already exists."""
        self._check_os_user()
        data_dir = self._new_data_dir()
        if data_dir is None:
            return
        password = secrets.token_urlsafe(24)
        with tempfile.NamedTemporaryFile("w", prefix="dinamis-pw-", delete=False) as pwfile:
            pwfile.write(password + "\n")
        pw_path = Path(pwfile.name)
        try:
            pw_path.chmod(0o600)
            self._give_to_os_user(pw_path)
            result = self._run(
                "initdb",
                "--pgdata",
                str(data_dir),
                "--username",
                SUPERUSER,
                f"--pwfile={pw_path}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pw_path.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ClusterError(f"initdb failed:\n{result.stderr.strip() or result.stdout.strip()}")
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# DINAMIS: tuning and listen settings, rewritten at every start\n")
            conf.write("include_if_exists = 'dinamis.conf'\n")
        self._save_state({"data_dir": str(data_dir), "password": password, "port": None})

    def _write_conf(self, port: int) -> None:
        settings = {
            **tuning(system_memory_bytes()),
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            # TCP only: a socket directory would need to be writable by the unprivileged user.
            "unix_socket_directories": "''",
        }
        conf = self.data_dir / "dinamis.conf"
        conf.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        self._give_to_os_user(conf)

    def _choose_port(self, state: dict[str, Any]) -> int:
        if self.settings.port is not None:
            if not port_is_free(self.settings.port):
                raise ClusterError(
                    f"Port {self.settings.port} (DINAMIS_CLUSTER_PORT) is already in use."
                )
            return self.settings.port
        recorded = state.get("port")
        if recorded and port_is_free(int(recorded)):
            return int(recorded)
        return free_port()

    def start(self) -> ClusterStatus:
        """Start the cluster (creating it first if needed) and its database; idempotent."""
        self.init()
        current = self.status()
        if current.running:
            self._ensure_database()
            return current
        state = self._load_state()
        port = self._choose_port(state)
        self._write_conf(port)
        log = self.data_dir / "server.log"
        result = self._run(
            "pg_ctl",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(log),
            "--wait",
            "--timeout=60",
            "start",
        )
        if result.returncode != 0:
            tail = ""
            with contextlib.suppress(OSError):
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise ClusterError(f"PostgreSQL did not start:\n{result.stderr.strip()}\n{tail}")
        dsn = (
            f"postgresql://{SUPERUSER}:{state['password']}@127.0.0.1:{port}/"
            f"{self.settings.database}"
        )
        self._save_state({**state, "port": port, "dsn": dsn})
        self._ensure_database()
        return self.status()

    def _ensure_database(self) -> None:
        state = self._load_state()
        admin_dsn = (
            f"postgresql://{SUPERUSER}:{state['password']}@127.0.0.1:{state['port']}/postgres"
        )
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.settings.database]
            ).fetchone()
            if not exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.settings.database))
                )

    def stop(self) -> bool:
        """Stop the cluster; returns False when it was not running."""
        if not (self.data_dir / "PG_VERSION").exists() or not self.status().running:
            return False
        result = self._run(
            "pg_ctl", "--pgdata", str(self.data_dir), "--mode=fast", "--wait", "stop"
        )
        if result.returncode != 0:
            raise ClusterError(f"PostgreSQL did not stop:\n{result.stderr.strip()}")
        return True

    def copy(self, settings: ClusterSettings, standby: bool = True) -> EmbeddedCluster:
        """A copy of this running cluster made by `pg_basebackup` in `settings`' home: a
        streaming replica that follows this one read-only (`standby`), or a restored backup
        that runs on its own. Start it with `start()` (it chooses its own port)."""
        state = self._load_state()
        if not self.status().running:
            raise ClusterError("The cluster must be running to be copied.")
        copy = EmbeddedCluster(settings)
        data_dir = copy._new_data_dir()
        if data_dir is None:
            raise ClusterError(f"{copy.data_dir} already holds a cluster.")
        result = self._run(
            "pg_basebackup",
            f"--pgdata={data_dir}",
            f"--dbname=postgresql://{SUPERUSER}@127.0.0.1:{state['port']}/postgres",
            "--wal-method=stream",
            "--checkpoint=fast",
            *(["--write-recovery-conf"] if standby else []),
            password=state["password"],
        )
        if result.returncode != 0:
            raise ClusterError(f"pg_basebackup failed:\n{result.stderr.strip()}")
        copy._save_state({"data_dir": str(data_dir), "password": state["password"], "port": None})
        return copy

    def status(self) -> ClusterStatus:
        state = self._load_state()
        data_dir = self.data_dir
        version = self._server_version()
        if not (data_dir / "PG_VERSION").exists():
            return ClusterStatus(False, data_dir, None, None, None, version)
        result = self._run("pg_ctl", "--pgdata", str(data_dir), "status")
        match = re.search(r"PID: (\d+)", result.stdout)
        running = result.returncode == 0 and match is not None
        return ClusterStatus(
            running=running,
            data_dir=data_dir,
            port=state.get("port"),
            pid=int(match.group(1)) if match else None,
            dsn=state.get("dsn") if running else None,
            server_version=version,
        )

    @staticmethod
    def _server_version() -> str:
        try:
            out = subprocess.run(
                [str(find_bindir() / "postgres"), "--version"],
                capture_output=True,
                text=True,
                check=False,
            )
        except ClusterError:
            return "not installed"
        return out.stdout.strip()
