#!/usr/bin/env bash
# Times hash's three loops apart: builds hash.c three times with one hash each
# (HASH_ONLY=1: FNV-1a over bytes, 2: the xxHash-shaped word hash, 3: 64-bit FNV-1a over words)
# and runs them and the whole program on ferrite and qemu-system-ppc with run.sh (same
# environment variables: RUNS, FERRITE, QEMU, ...). Each variant also runs the buffer set-up and
# the perturbation between rounds, so the parts add up to more than the whole.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
make -s -C "$ROOT/tests/guest/ppc" build/parts/hash-only-1.elf build/parts/hash-only-2.elf build/parts/hash-only-3.elf \
    >/dev/null || { echo "hash_parts.sh: building the variants failed" >&2; exit 1; }
exec "$ROOT/tests/bench/run.sh" parts/hash-only-1 parts/hash-only-2 parts/hash-only-3 hash
