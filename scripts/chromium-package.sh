#!/usr/bin/env bash
# Prints the OS package that installs Chromium, read from /etc/os-release (or the file given):
# Debian's `chromium` (/usr/bin/chromium); on Ubuntu and its derivatives (ID_LIKE=ubuntu),
# `chromium-browser`, a transitional package that installs the snap (/snap/bin/chromium).
set -euo pipefail
release=${1:-/etc/os-release}
ids=$(. "$release" 2>/dev/null && echo " ${ID:-} ${ID_LIKE:-} ") || ids=""
case "$ids" in
    *" ubuntu "*) echo chromium-browser ;;
    *) echo chromium ;;
esac
