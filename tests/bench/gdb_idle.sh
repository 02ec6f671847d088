#!/usr/bin/env bash
# What a listening GDB stub costs while no debugger is attached: boots the default image (or
# KERNEL INITRD) to "boot complete" and power-off, alternately without and with `-gdb`, and
# prints the median wall times and their ratio (issue: within 2%).
#
# Usage: tests/bench/gdb_idle.sh [KERNEL INITRD]    Environment: RUNS=N (default 11), FERRITE=path
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-11}
KERNEL=${1:-$ROOT/images/ppc-e500mc/uImage}
INITRD=${2:-$ROOT/images/ppc-e500mc/initramfs.cpio.gz}

die() { echo "gdb_idle.sh: $*" >&2; exit 1; }
. "$ROOT/tests/bench/lib.sh"
bench_ferrite
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PORT=$((20000 + RANDOM % 20000))

run() {
    local name=$1; shift
    /usr/bin/time -f "%e" -o "$WORK/t" "$FERRITE" -kernel "$KERNEL" -initrd "$INITRD" \
        -append "console=ttyS0 autopoweroff" -nographic "$@" > "$WORK/console" 2>&1 < /dev/null \
        || die "$name failed: $(tail -5 "$WORK/console")"
    grep -q "boot complete" "$WORK/console" || die "$name did not reach 'boot complete'"
    cat "$WORK/t" >> "$WORK/$name"
}

for _ in $(seq "$RUNS"); do
    run plain
    run stub -gdb "tcp::$PORT"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
p=$(median < "$WORK/plain"); s=$(median < "$WORK/stub")
echo "| runs | without stub s | with -gdb, no client s | ratio |"
echo "|---:|---:|---:|---:|"
awk -v n="$RUNS" -v p="$p" -v s="$s" 'BEGIN { printf "| %d | %.3f | %.3f | %.3f |\n", n, p, s, s / p }'
