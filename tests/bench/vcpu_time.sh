#!/usr/bin/env bash
# The CPU time of ferrite's vCPU thread for a job in the default Linux image: for comparing
# two ferrite builds on a noisy host (another process's load counts less than in wall time).
# Boots, sends the job, reads the main thread's CPU time (/proc/PID/task/PID/schedstat) when
# the job is sent and when it ends, powers off, prints the seconds.
#
# Usage: tests/bench/vcpu_time.sh FERRITE [ferrite arguments...]
# Environment: ROUNDS=N (default 20), JOB_BODY=shell commands instead of tests/bench/smp.sh's
# md5sum loop (four shells, ROUNDS pipelines each).
# Alternate builds when comparing: for i in 1 2 3; do for b in A B; do vcpu_time.sh $b; done; done
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMG=$ROOT/images/ppc-e500mc
[ $# -ge 1 ] && [ -x "$1" ] || { echo "usage: vcpu_time.sh FERRITE [args...]" >&2; exit 1; }
BIN=$1; shift
ROUNDS=${ROUNDS:-20}
JOB_BODY=${JOB_BODY:-"for j in 1 2 3 4; do (i=0; while [ \$i -lt $ROUNDS ]; do i=\$((i+1)); echo \$i | md5sum >/dev/null; done) & done; wait"}
WORK=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; rm -rf "$WORK"' EXIT
mkfifo "$WORK/in"
"$BIN" -M ppce500 -cpu e500mc -m 256 -kernel "$IMG/uImage" -initrd "$IMG/initramfs.cpio.gz" \
    -append console=ttyS0 -nographic -net none "$@" < "$WORK/in" > "$WORK/console" 2>&1 &
pid=$!
exec 3> "$WORK/in"
until grep -aq "~ # " "$WORK/console"; do sleep 0.05; done
cpu() { awk '{ print $1 }' "/proc/$pid/task/$pid/schedstat"; }
c0=$(cpu)
# The marker is split in the command line so that its echo does not match it.
printf '%s; echo JOB""DONE\r' "$JOB_BODY" >&3
until grep -aq "JOBDONE" "$WORK/console"; do sleep 0.02; done
c1=$(cpu)
printf 'poweroff -f\r' >&3
exec 3>&-
wait "$pid"
awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
