# Shared by the benchmark scripts (sourced after they set ROOT and define die): which ferrite
# and which qemu-system-ppc to run.

# FERRITE: the binary given, else one built from the work tree (cargo build --release).
bench_ferrite() {
    if [ -z "${FERRITE:-}" ]; then
        (cd "$ROOT" && cargo build --release --quiet) || die "cargo build failed"
        FERRITE="${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrite"
    fi
    [ -x "$FERRITE" ] || die "no ferrite binary at $FERRITE"
}

# QEMU: the binary given, else qemu-system-ppc in PATH, else the package unpacked in /tmp as
# tests/bench/run.sh's header says.
bench_qemu() {
    if [ -z "${QEMU:-}" ]; then
        QEMU=$(command -v qemu-system-ppc || echo /tmp/qemu-sys/root/usr/bin/qemu-system-ppc)
    fi
    [ -x "$QEMU" ] || die "no qemu-system-ppc (set QEMU=...; tests/bench/run.sh says how to get it)"
}
