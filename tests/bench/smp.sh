#!/usr/bin/env bash
# SMP benchmark: boot the default Linux image on ferrite and on qemu-system-ppc 7.2 with -smp 1
# and -smp 2, run a fork-and-exec-heavy job in the guest (four shells, each running md5sum
# ROUNDS times) and print the job's time as the guest's `time` measured it (its clock follows
# the host's in both emulators), median of RUNS runs, alternating the emulators.
#
# Usage: tests/bench/smp.sh
# Environment: RUNS=N (default 3), ROUNDS=N (default 200), FERRITE=path (default: cargo build
# --release), QEMU=path (default: qemu-system-ppc in PATH, else
# /tmp/qemu-sys/root/usr/bin/qemu-system-ppc; see tests/bench/run.sh for getting it),
# SMPS="1 2" (the -smp values), JOB_BODY=shell commands timed instead of the md5sum loop (no
# single quotes: they run in sh -c '...'),
# JOB_SETUP=shell commands run before the timed part (e.g. creating a file).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-3}
ROUNDS=${ROUNDS:-200}
IMG=$ROOT/images/ppc-e500mc
die() { echo "smp.sh: $*" >&2; exit 1; }
. "$ROOT/tests/bench/lib.sh"
bench_ferrite
bench_qemu

WORK=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; rm -rf "$WORK"' EXIT
# The marker is split in the command line so that its echo does not match it.
JOB_BODY=${JOB_BODY:-"for j in 1 2 3 4; do (i=0; while [ \$i -lt $ROUNDS ]; do i=\$((i+1)); echo \$i | md5sum >/dev/null; done) & done; wait"}
SMPS=${SMPS:-1 2}
JOB="${JOB_SETUP:-true}; time sh -c '$JOB_BODY'; echo JOB\"\"DONE"

# wait_for TEXT SECONDS: until the console shows TEXT.
wait_for() {
    local deadline=$((SECONDS + $2))
    until grep -aq "$1" "$WORK/console"; do
        [ $SECONDS -lt $deadline ] || die "no '$1' within $2 s: $(tail -3 "$WORK/console")"
        sleep 0.2
    done
}

# run NAME CMD...: boots, runs the job, powers off; appends the job's seconds to $WORK/NAME.
run() {
    local name=$1; shift
    rm -f "$WORK/in"; mkfifo "$WORK/in"
    "$@" < "$WORK/in" > "$WORK/console" 2>&1 &
    local pid=$!
    exec 3> "$WORK/in"
    wait_for "~ # " 120
    printf '%s\r' "$JOB" >&3
    wait_for "JOBDONE" 900
    printf 'poweroff -f\r' >&3
    exec 3>&-
    wait "$pid" || die "$name exited with an error"
    grep -a '^real' "$WORK/console" | tail -1 | tr -d '\r' |
        awk '{ split($2, m, "m"); s = $3; sub("s", "", s); print m[1] * 60 + s }' >> "$WORK/$name"
}

for _ in $(seq "$RUNS"); do
    for smp in $SMPS; do
        run "qemu-$smp" "$QEMU" -M ppce500 -cpu e500mc -m 256 -smp "$smp" -kernel "$IMG/uImage" \
            -initrd "$IMG/initramfs.cpio.gz" -append console=ttyS0 -nographic -monitor none -serial stdio -net none
        run "ferrite-$smp" "$FERRITE" -M ppce500 -cpu e500mc -m 256 -smp "$smp" -kernel "$IMG/uImage" \
            -initrd "$IMG/initramfs.cpio.gz" -append console=ttyS0 -nographic -net none
    done
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "| -smp | qemu s | ferrite s | speedup (qemu/ferrite) |"
echo "|---:|---:|---:|---:|"
for smp in $SMPS; do
    q=$(median < "$WORK/qemu-$smp"); f=$(median < "$WORK/ferrite-$smp")
    awk -v n="$smp" -v q="$q" -v f="$f" 'BEGIN { printf "| %d | %.2f | %.2f | %.2f |\n", n, q, f, q / f }'
done
