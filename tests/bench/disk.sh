#!/usr/bin/env bash
# Guest disk throughput: boots the default image with a raw virtio disk on ferrite and on
# qemu-system-ppc 7.2, alternately, and in the guest writes then reads 64 MiB to and from
# /dev/vda with direct I/O (busybox dd, 1 MiB blocks), each twice: the first pass runs the
# kernel's I/O path cold (translation and JIT warm-up are part of it), the second warm.
# Prints busybox dd's MB/s for each run and the medians.
#
# Usage: tests/bench/disk.sh      Environment: RUNS=N (default 3), FERRITE=path, QEMU=path
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-3}
IMG=$ROOT/images/ppc-e500mc

die() { echo "disk.sh: $*" >&2; exit 1; }
. "$ROOT/tests/bench/lib.sh"
bench_ferrite
bench_qemu

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DISK=$WORK/disk.raw
truncate -s 128M "$DISK"

# The guest's commands, typed once the shell is up as one line (commands typed ahead are
# echoed while dd runs and can split its output lines); the run powers off at the end.
commands() {
    sleep "${BOOT_WAIT:-6}"
    echo 'for pass in 1 2; do dd if=/dev/zero of=/dev/vda bs=1M count=64 oflag=direct 2>&1 | sed "s/^/WRITE /"; dd if=/dev/vda of=/dev/null bs=1M count=64 iflag=direct 2>&1 | sed "s/^/READ /"; done; poweroff -f'
    sleep 60
}

# run NAME CMD...: appends "write1 read1 write2 read2" (MB/s) to $WORK/NAME.
run() {
    local name=$1; shift
    commands | timeout 120 "$@" > "$WORK/console" 2>&1 || true
    local rates
    rates=$(grep -a -E '^(WRITE|READ) .*copied' "$WORK/console" | sed -E 's/.* ([0-9.]+)([KMG])B\/s.*/\1 \2/' \
        | awk '{ m = ($2 == "K") ? 1/1024 : ($2 == "G") ? 1024 : 1; printf "%.1f ", $1 * m }')
    [ "$(echo "$rates" | wc -w)" = 4 ] || die "$name: no dd results; console:\n$(tail -20 "$WORK/console")"
    echo "$rates" >> "$WORK/$name"
    echo "$name: write/read cold, write/read warm (MB/s): $rates" >&2
}

for _ in $(seq "$RUNS"); do
    run qemu "$QEMU" -M ppce500 -cpu e500mc -m 256 -kernel "$IMG/uImage" -initrd "$IMG/initramfs.cpio.gz" \
        -append console=ttyS0 -nographic -monitor none -serial stdio -net none \
        -drive "file=$DISK,if=virtio,format=raw"
    run ferrite "$FERRITE" -M ppce500 -cpu e500mc -m 256 -kernel "$IMG/uImage" -initrd "$IMG/initramfs.cpio.gz" \
        -append console=ttyS0 -nographic -net none -drive "file=$DISK,if=virtio,format=raw"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "| 64 MiB, O_DIRECT | qemu MB/s | ferrite MB/s | ratio (ferrite/qemu) |"
echo "|---|---:|---:|---:|"
col=1
for what in "write, first pass" "read, first pass" "write, second pass" "read, second pass"; do
    q=$(cut -d' ' -f$col "$WORK/qemu" | median); f=$(cut -d' ' -f$col "$WORK/ferrite" | median)
    awk -v w="$what" -v q="$q" -v f="$f" 'BEGIN { printf "| %s | %.1f | %.1f | %.2f |\n", w, q, f, f / q }'
    col=$((col + 1))
done
