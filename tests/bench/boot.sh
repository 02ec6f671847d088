#!/usr/bin/env bash
# Linux boot benchmark: boot a ppce500 Linux image to "boot complete" and power-off on ferrite
# and on qemu-system-ppc 7.2, alternately, and print the median wall times, their ratio
# (ferrite / qemu: below 1 means ferrite is faster) and the peak RSS of each.
#
# Usage: tests/bench/boot.sh [KERNEL INITRD]   (default: the repository's images/ppc-e500mc)
#
# Environment: RUNS=N (default 5), FERRITE=path (default: cargo build --release), QEMU=path
# (default: qemu-system-ppc in PATH, else /tmp/qemu-sys/root/usr/bin/qemu-system-ppc; see
# tests/bench/run.sh for getting it), MEM (default 256).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-5}
MEM=${MEM:-256}
KERNEL=${1:-$ROOT/images/ppc-e500mc/uImage}
INITRD=${2:-$ROOT/images/ppc-e500mc/initramfs.cpio.gz}
APPEND="console=ttyS0 autopoweroff"

die() { echo "boot.sh: $*" >&2; exit 1; }

. "$ROOT/tests/bench/lib.sh"
bench_ferrite
bench_qemu
[ -x /usr/bin/time ] || die "needs GNU time (/usr/bin/time)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# run NAME CMD...: appends "seconds kib" to $WORK/NAME, checks the console says boot complete.
run() {
    local name=$1; shift
    /usr/bin/time -f "%e %M" -o "$WORK/t" "$@" > "$WORK/console" 2>&1 < /dev/null || die "$name failed: $(tail -5 "$WORK/console")"
    grep -q "boot complete" "$WORK/console" || die "$name did not reach 'boot complete'"
    cat "$WORK/t" >> "$WORK/$name"
}

for _ in $(seq "$RUNS"); do
    run qemu "$QEMU" -M ppce500 -cpu e500mc -m "$MEM" -kernel "$KERNEL" -initrd "$INITRD" \
        -append "$APPEND" -nographic -monitor none -serial stdio -net none
    run ferrite "$FERRITE" -M ppce500 -cpu e500mc -m "$MEM" -kernel "$KERNEL" -initrd "$INITRD" \
        -append "$APPEND" -nographic -net none
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
q=$(cut -d' ' -f1 "$WORK/qemu" | median); f=$(cut -d' ' -f1 "$WORK/ferrite" | median)
qm=$(cut -d' ' -f2 "$WORK/qemu" | median); fm=$(cut -d' ' -f2 "$WORK/ferrite" | median)
echo "| image | qemu s | ferrite s | ratio (ferrite/qemu) | qemu RSS MiB | ferrite RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|"
awk -v k="$(basename "$KERNEL")" -v q="$q" -v f="$f" -v qm="$qm" -v fm="$fm" \
    'BEGIN { printf "| %s | %.2f | %.2f | %.2f | %d | %d |\n", k, q, f, f / q, qm / 1024, fm / 1024 }'
