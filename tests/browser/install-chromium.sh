#!/bin/sh
# Installs Debian's chromium and chromium-driver for the browser tests when
# no chromium is on PATH (Playwright's own browser download is not used).
# With a directory argument (tox passes the environment's directory), also
# puts axe-core's axe.min.js, from the npm registry, in DIR/axe-core/.
set -e
AXE_VERSION=4.14.1
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
if ! command -v chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver
fi
if [ -n "$1" ] && [ ! -f "$1/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm
  fi
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar xzf "axe-core-$AXE_VERSION.tgz")
  mkdir -p "$1/axe-core"
  cp "$tmp/package/axe.min.js" "$tmp/package/LICENSE" "$1/axe-core/"
  rm -rf "$tmp"
fi
