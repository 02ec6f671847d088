#!/usr/bin/env bash
# Benchmarks: run every bare-metal program of tests/guest/ppc/bench on ferrite and on
# qemu-system-ppc (7.2), alternating, and print a markdown table of median wall times and
# speedups (qemu time / ferrite time; > 1 means ferrite is faster).
#
# Usage: tests/bench/run.sh [program ...]        (default: every bench/*.c)
#        a program with a slash names a variant under tests/guest/ppc/build (parts/hash-only-1)
#
# Environment:
#   RUNS=N          runs per program and emulator (default 3; the median is reported)
#   FERRITE=path    use this ferrite binary instead of building one with `cargo build --release`
#                   (the build honours CARGO_TARGET_DIR)
#   QEMU=path       qemu-system-ppc to compare with; otherwise the one in PATH, otherwise
#                   /tmp/qemu-sys/root/usr/bin/qemu-system-ppc
#   TIMEOUT=s       per-run time limit (default 300)
#   FERRITE_ARGS    extra ferrite arguments (e.g. "--no-jit")
#   KEEP=dir        keep every run's console output and timing in dir
#   NATIVE=1        also build each program for the host (gcc -O2, the runtime's own string
#                   functions and printf_: lib/rt.c with RT_HOST) and time it in the same
#                   alternation: a "native s" column and ferrite's time as a multiple of it, the
#                   floor no emulator can go under. Programs with PowerPC assembly (fma) have no
#                   native build; a native console may differ from the guest's where the result
#                   depends on byte order (hash's byte-wise FNV) or FP contraction (nbody)
#
# Getting qemu-system-ppc without installing it system-wide (Debian 12 ships 7.2):
#   cd /tmp && apt-get download qemu-system-ppc && dpkg -x qemu-system-ppc_*.deb /tmp/qemu-sys/root
#   (its shared-library dependencies -- libfdt, libslirp, ... -- must be installed or also
#   extracted with dpkg -x and put on LD_LIBRARY_PATH). The board has a NIC that wants a
#   backend, so it is run with `-net none`.
#
# A program whose source says "bench: not-in-mean" (a pathology probe) is shown in the table but
# left out of the geometric mean, like hello.elf (start-up cost).
#
# Every run's console output must be byte-identical between the two emulators (checksums the
# programs print); the script stops with an error otherwise. Peak RSS comes from
# /usr/bin/time -f %M when GNU time is installed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GUEST="$ROOT/tests/guest/ppc"
RUNS=${RUNS:-3}
TIMEOUT=${TIMEOUT:-300}
FERRITE_ARGS=${FERRITE_ARGS:-}

die() { echo "run.sh: $*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------------
make -s -C "$GUEST" >/dev/null || die "building the guest programs failed (make -C $GUEST)"

if [ -z "${FERRITE:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet --bin ferrite) || die "cargo build failed"
    FERRITE="${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrite"
    FERRITE_FROM="built from the work tree at $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
else
    FERRITE_FROM="given with FERRITE="
fi
[ -x "$FERRITE" ] || die "no ferrite binary at $FERRITE"

if [ -z "${QEMU:-}" ]; then
    QEMU=$(command -v qemu-system-ppc || true)
    [ -n "$QEMU" ] || QEMU=/tmp/qemu-sys/root/usr/bin/qemu-system-ppc
fi
[ -x "$QEMU" ] || die "no qemu-system-ppc (set QEMU=path; see the header of this script)"

GNU_TIME=""
if /usr/bin/time -f %M true >/dev/null 2>&1; then GNU_TIME=/usr/bin/time; fi

if [ $# -gt 0 ]; then
    PROGRAMS=("$@")
else
    PROGRAMS=()
    for c in "$GUEST"/bench/*.c; do PROGRAMS+=("$(basename "$c" .c)"); done
fi

WORK=${KEEP:-$(mktemp -d)}
mkdir -p "$WORK"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT

# --- one run -----------------------------------------------------------------------------------
# run_one EMULATOR ELF TAG: runs the ELF, leaves the console output in $WORK/TAG.out and prints
# "seconds rss_kib".
run_one() {
    local emu=$1 elf=$2 tag=$3 cmd
    if [ "$emu" = native ]; then
        cmd=("$elf")
    elif [ "$emu" = qemu ]; then
        cmd=("$QEMU" -M ppce500 -cpu e500mc -m 256 -kernel "$elf" -nographic
             -monitor none -serial stdio -net none)
    else
        # shellcheck disable=SC2206 # FERRITE_ARGS is split on purpose
        cmd=("$FERRITE" $FERRITE_ARGS -M ppce500 -cpu e500mc -m 256 -kernel "$elf" -nographic -net none)
    fi
    local t0 t1 rc=0 rss=0
    t0=$(date +%s.%N)
    if [ -n "$GNU_TIME" ]; then
        timeout "$TIMEOUT" "$GNU_TIME" -f %M -o "$WORK/$tag.rss" "${cmd[@]}" \
            </dev/null >"$WORK/$tag.out" 2>"$WORK/$tag.err" || rc=$?
    else
        timeout "$TIMEOUT" "${cmd[@]}" </dev/null >"$WORK/$tag.out" 2>"$WORK/$tag.err" || rc=$?
    fi
    t1=$(date +%s.%N)
    if [ $rc -ne 0 ] && [ "$emu" = native ]; then
        # A reference point only: the caller drops the column of a program that fails natively.
        echo "run.sh: the native build of $(basename "$elf") failed (exit $rc); no native time for it" >&2
        return 1
    fi
    if [ $rc -ne 0 ]; then
        echo "run.sh: $emu failed on $(basename "$elf") (exit $rc); stderr:" >&2
        tail -20 "$WORK/$tag.err" >&2
        exit 1
    fi
    # GNU time appends its line to -o; the last line is %M.
    [ -n "$GNU_TIME" ] && rss=$(tail -1 "$WORK/$tag.rss")
    awk -v a="$t0" -v b="$t1" -v r="$rss" 'BEGIN { printf "%.3f %s\n", b - a, r }'
}

# build_native PROG: builds PROG for the host into $WORK/native (slashes in PROG become
# dashes); prints its path, or nothing when the program does not build there (PowerPC assembly).
build_native() {
    local prog=$1 src defs=()
    case $prog in
        hello) src="$GUEST/hello.c" ;;
        parts/hash-only-*) src="$GUEST/bench/hash.c" defs=(-DHASH_ONLY="${prog##*-}") ;;
        */*) return 0 ;;
        *) src="$GUEST/bench/$prog.c" ;;
    esac
    local out="$WORK/native/${prog//\//-}"
    mkdir -p "$WORK/native"
    # -fno-builtin and no loop-to-memcpy idiom: the runtime's byte loops stay byte loops.
    if ${NATIVE_CC:-gcc} -O2 -DRT_HOST -fno-builtin -fno-tree-loop-distribute-patterns -w "${defs[@]}" \
        -o "$out" "$GUEST/lib/rt.c" "$src" 2>"$out.log"; then
        echo "$out"
    fi
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max() { sort -g | tail -1; }

# --- the runs ----------------------------------------------------------------------------------
echo "ferrite: $FERRITE $FERRITE_ARGS ($FERRITE_FROM)" >&2
echo "qemu:    $QEMU ($("$QEMU" --version | head -1))" >&2
echo "runs:    $RUNS per program and emulator, alternating" >&2
[ -z "${NATIVE:-}" ] || echo "native:  $(${NATIVE_CC:-gcc} --version | head -1) -O2, same alternation" >&2

ROWS=()
SPEEDUPS=()
# hello.elf (prints one line) measures start-up and shut-down; it is shown but not in the mean.
for prog in hello "${PROGRAMS[@]}"; do
    case $prog in
        hello) elf="$GUEST/build/hello.elf" ;;
        */*) elf="$GUEST/build/$prog.elf" ;; # a variant built under build/ (see hash_parts.sh)
        *) elf="$GUEST/build/bench/$prog.elf" ;;
    esac
    key=${prog//\//-} # file names for the run's outputs
    [ -f "$elf" ] || die "no $elf"
    : >"$WORK/$key.qemu.times"
    : >"$WORK/$key.ferrite.times"
    : >"$WORK/$key.native.times"
    emus=(qemu ferrite)
    nat=""
    if [ -n "${NATIVE:-}" ]; then
        nat=$(build_native "$prog")
        [ -z "$nat" ] || emus+=(native)
    fi
    for ((i = 1; i <= RUNS; i++)); do
        for emu in "${emus[@]}"; do
            if [ "$emu" = native ]; then
                run_one native "$nat" "$key.native.$i" >>"$WORK/$key.native.times" || { nat=""; emus=(qemu ferrite); }
            else
                run_one "$emu" "$elf" "$key.$emu.$i" >>"$WORK/$key.$emu.times"
            fi
        done
        # The programs print checksums: the consoles must agree exactly, on every run.
        if ! cmp -s "$WORK/$key.qemu.$i.out" "$WORK/$key.ferrite.$i.out"; then
            echo "run.sh: OUTPUT MISMATCH on $prog (run $i): diff qemu ferrite" >&2
            diff <(tr -d '\r' <"$WORK/$key.qemu.$i.out") <(tr -d '\r' <"$WORK/$key.ferrite.$i.out") >&2 || true
            exit 1
        fi
    done
    tr -d '\r' <"$WORK/$key.qemu.1.out" | sed 's/^/    /' >&2
    q=$(awk '{ print $1 }' "$WORK/$key.qemu.times" | median)
    f=$(awk '{ print $1 }' "$WORK/$key.ferrite.times" | median)
    qr=$(awk '{ print $2 }' "$WORK/$key.qemu.times" | max)
    fr=$(awk '{ print $2 }' "$WORK/$key.ferrite.times" | max)
    s=$(awk -v q="$q" -v f="$f" 'BEGIN { printf "%.2f", q / f }')
    name=$prog
    if [ "$prog" = hello ]; then
        name="hello (start-up only)"
    elif grep -qs "bench: not-in-mean" "$GUEST/bench/$prog.c"; then
        name="$prog (probe, not in mean)"
    else
        SPEEDUPS+=("$s")
    fi
    row=$(awk -v n="$name" -v q="$q" -v f="$f" -v s="$s" -v qr="$qr" -v fr="$fr" \
        'BEGIN { printf "| %s | %.2f | %.2f | %s | %.0f | %.0f |", n, q, f, s, qr / 1024, fr / 1024 }')
    if [ -n "${NATIVE:-}" ]; then
        if [ -n "$nat" ]; then
            nt=$(awk '{ print $1 }' "$WORK/$key.native.times" | median)
            note=""
            cmp -s <(tr -d '\r' <"$WORK/$key.qemu.1.out") "$WORK/$key.native.1.out" || note=" (output differs)"
            row+=$(awk -v n="$nt" -v f="$f" -v note="$note" 'BEGIN { printf " %.2f%s | %.2f |", n, note, f / n }')
        else
            row+=" n/a | |"
        fi
    fi
    ROWS+=("$row")
done

echo
if [ -n "${NATIVE:-}" ]; then
    echo "| program | qemu s | ferrite s | speedup (qemu/ferrite) | qemu RSS MiB | ferrite RSS MiB | native s | ferrite/native |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
else
    echo "| program | qemu s | ferrite s | speedup (qemu/ferrite) | qemu RSS MiB | ferrite RSS MiB |"
    echo "|---|---:|---:|---:|---:|---:|"
fi
printf '%s\n' "${ROWS[@]}"
extra=""
[ -z "${NATIVE:-}" ] || extra=" | |"
printf '%s\n' "${SPEEDUPS[@]}" | awk -v x="$extra" '{ l += log($1); n++ } END { if (n) printf "| **geometric mean** (%d programs) | | | **%.2f** | | |%s\n", n, exp(l / n), x }'
