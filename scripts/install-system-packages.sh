#!/usr/bin/env bash
# Installs the OS packages the product needs when they are missing.
#   run  (make run):  Python's venv, PostgreSQL with PostGIS, npm (which fetches the gazetteer's
#                     data and the viewer's libraries, package-lock.json)
#   test (make test): Chromium for the browser tests (driven by Python Playwright, no
#                     download): Debian's chromium, Ubuntu's chromium-browser (a snap), as
#                     scripts/chromium-package.sh reads /etc/os-release; `make test` runs `run`
#                     first
# Idempotent: does nothing when everything is present. Debian and Ubuntu (apt) only; elsewhere
# it says exactly what to install.
set -euo pipefail

need=${1:-run}
case "$need" in run | test) ;; *) echo "usage: $0 [run|test]" >&2; exit 2 ;; esac

say() { printf '[install] %s\n' "$*"; }

pg_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && { pg_config --bindir; return 0; }
    return 1
}

pg_major() { "$1/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/'; }

has_postgis() {
    local major=$1
    [ -f "/usr/share/postgresql/$major/extension/postgis.control" ] && return 0
    command -v pg_config >/dev/null 2>&1 && [ -f "$(pg_config --sharedir)/extension/postgis.control" ]
}

packages=()
if [ "$need" = test ]; then
    # Where tests/browser.py looks for it; Debian's chromium or Ubuntu's chromium-browser.
    [ -n "${DINAMIS_CHROMIUM:-}" ] || [ -x /usr/bin/chromium ] || [ -x /snap/bin/chromium ] \
        || [ -x /usr/bin/chromium-browser ] \
        || packages+=("$("$(dirname "$0")/chromium-package.sh")")
    command -v haproxy >/dev/null 2>&1 || packages+=(haproxy)  # bench/scaleout.py's balancer
fi
if [ "$need" = run ]; then
# The virtualenv needs Python >= 3.11 with venv and ensurepip (Debian splits them out).
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    say "Python >= 3.11 is required (found: $("$PYTHON" --version 2>&1 || echo none))" >&2
    exit 1
fi
# The package of this interpreter's venv (python3.11-venv, python3.12-venv…): on Ubuntu 22.04,
# whose python3 is 3.10, `PYTHON=python3.11 make run` with Ubuntu's python3.11 package.
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null \
    || packages+=("python$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv")
if bindir=$(pg_bindir); then
    major=$(pg_major "$bindir")
    has_postgis "$major" || packages+=("postgresql-$major-postgis-3")
else
    packages+=(postgresql postgresql-contrib)
fi
command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

if [ ${#packages[@]} -eq 0 ]; then
    if [ "$need" = run ]; then
        say "Python $("$PYTHON" -c 'import platform; print(platform.python_version())'), PostgreSQL $(pg_major "$bindir") with PostGIS, npm: present"
    else
        say "chromium: present"
    fi
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: ${packages[*]} (PostgreSQL >= 15 with PostGIS 3, npm; chromium for the tests). Install them with your package manager, then re-run." >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        say "missing packages: ${packages[*]}" >&2
        say "run: sudo apt-get install -y ${packages[*]}   (then re-run make)" >&2
        exit 1
    fi
fi

apt_install() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
}

say "installing ${packages[*]}"
# Fresh machines often have empty package lists: refresh once when the first attempt fails.
apt_install "${packages[@]}" || { $SUDO apt-get update -q && apt_install "${packages[@]}"; }

[ "$need" = test ] && { say "chromium: installed"; exit 0; }

# The server package decides the PostGIS package name: resolve it after PostgreSQL is in.
if bindir=$(pg_bindir); then
    major=$(pg_major "$bindir")
    has_postgis "$major" || apt_install "postgresql-$major-postgis-3"
fi
bindir=$(pg_bindir) && has_postgis "$(pg_major "$bindir")" || { say "PostGIS still missing" >&2; exit 1; }
say "PostgreSQL $(pg_major "$bindir") with PostGIS: installed"
