#!/bin/sh
# Installs Debian's clang when none is on PATH: tinygrad's CPU device compiles every kernel, and its own
# command-queue programs, with `clang` (tinygrad/runtime/ops_cpu.py), whatever renderer DEV names.
set -e
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
if ! command -v clang >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang
fi
