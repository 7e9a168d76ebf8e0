#!/bin/sh
# Installs Debian's clang-19 when it is missing: tinygrad's CPU device compiles every kernel with the C
# compiler named by CC (tinygrad/runtime/support/compiler_cpu.py; the tinygrad environments set
# CC=clang-19), and bfloat16 kernels use __bf16, which Debian 12's default clang 14 refuses on x86_64.
set -e
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
if ! command -v clang-19 >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang-19
fi
