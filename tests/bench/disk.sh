#!/usr/bin/env bash
# Guest disk throughput: boots the default image with a raw virtio disk on ferrite and on
# qemu-system-ppc 7.2, alternately, and in the guest writes then reads 64 MiB to and from
# /dev/vda with direct I/O (busybox dd, 1 MiB blocks). Prints busybox dd's MB/s for each run
# and the medians.
#
# Usage: tests/bench/disk.sh      Environment: RUNS=N (default 3), FERRITE=path, QEMU=path
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-3}
IMG=$ROOT/images/ppc-e500mc

die() { echo "disk.sh: $*" >&2; exit 1; }
if [ -z "${FERRITE:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build failed"
    FERRITE="${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrite"
fi
QEMU=${QEMU:-$(command -v qemu-system-ppc || echo /tmp/qemu-sys/root/usr/bin/qemu-system-ppc)}
[ -x "$QEMU" ] || die "no qemu-system-ppc (set QEMU=...; tests/bench/run.sh says how to get it)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DISK=$WORK/disk.raw
truncate -s 128M "$DISK"

# The guest's commands, typed once the shell is up; the run powers off at the end.
commands() {
    sleep "${BOOT_WAIT:-6}"
    echo 'dd if=/dev/zero of=/dev/vda bs=1M count=64 oflag=direct 2>&1 | sed "s/^/WRITE /"'
    echo 'dd if=/dev/vda of=/dev/null bs=1M count=64 iflag=direct 2>&1 | sed "s/^/READ /"'
    echo 'poweroff -f'
    sleep 60
}

# run NAME CMD...: appends "write_MBps read_MBps" to $WORK/NAME.
run() {
    local name=$1; shift
    commands | timeout 120 "$@" > "$WORK/console" 2>&1 || true
    local w r
    w=$(grep -a '^WRITE .*copied' "$WORK/console" | sed -E 's/.* ([0-9.]+)([KMG])B\/s.*/\1 \2/')
    r=$(grep -a '^READ .*copied' "$WORK/console" | sed -E 's/.* ([0-9.]+)([KMG])B\/s.*/\1 \2/')
    [ -n "$w" ] && [ -n "$r" ] || die "$name: no dd result; console:\n$(tail -20 "$WORK/console")"
    to_mb() { awk '{ m = ($2 == "K") ? 1/1024 : ($2 == "G") ? 1024 : 1; printf "%.1f", $1 * m }'; }
    echo "$(echo "$w" | to_mb) $(echo "$r" | to_mb)" >> "$WORK/$name"
    echo "$name: write $(echo "$w" | to_mb) MB/s, read $(echo "$r" | to_mb) MB/s" >&2
}

for _ in $(seq "$RUNS"); do
    run qemu "$QEMU" -M ppce500 -cpu e500mc -m 256 -kernel "$IMG/uImage" -initrd "$IMG/initramfs.cpio.gz" \
        -append console=ttyS0 -nographic -monitor none -serial stdio -net none \
        -drive "file=$DISK,if=virtio,format=raw"
    run ferrite "$FERRITE" -M ppce500 -cpu e500mc -m 256 -kernel "$IMG/uImage" -initrd "$IMG/initramfs.cpio.gz" \
        -append console=ttyS0 -nographic -drive "file=$DISK,if=virtio,format=raw"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
qw=$(cut -d' ' -f1 "$WORK/qemu" | median); qr=$(cut -d' ' -f2 "$WORK/qemu" | median)
fw=$(cut -d' ' -f1 "$WORK/ferrite" | median); fr=$(cut -d' ' -f2 "$WORK/ferrite" | median)
echo "| direction | qemu MB/s | ferrite MB/s | ratio (ferrite/qemu) |"
echo "|---|---:|---:|---:|"
awk -v q="$qw" -v f="$fw" 'BEGIN { printf "| write 64 MiB, O_DIRECT | %.1f | %.1f | %.2f |\n", q, f, f / q }'
awk -v q="$qr" -v f="$fr" 'BEGIN { printf "| read 64 MiB, O_DIRECT | %.1f | %.1f | %.2f |\n", q, f, f / q }'
