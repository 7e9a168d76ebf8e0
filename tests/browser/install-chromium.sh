#!/bin/sh
# Installs Debian's chromium and chromium-driver for the browser tests when
# no chromium is on PATH (Playwright's own browser download is not used).
set -e
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver
