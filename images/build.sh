#!/usr/bin/env bash
# Builds ferrite's default guest image for the ppce500 board (e500mc CPU):
# a small Linux 6.1 kernel (gzip U-Boot uImage, load 0, entry 0), a busybox
# initramfs and an ext4 root disk holding the same tree, from Debian bookworm
# packages only.
#
# usage: images/build.sh [SCRATCH_DIR]      (default /tmp/ferrite-image-build)
#        images/build.sh --rootdisk [SCRATCH_DIR]
#
# Runs on Debian bookworm as root (to apt-get install what is missing). The
# results go to images/ppc-e500mc/ next to this script; the unstripped vmlinux
# (with symbols, for gdb) stays in SCRATCH_DIR. `--rootdisk` only remakes the
# root disk from the committed initramfs.cpio.gz (seconds, no root needed;
# needs cpio, e2fsprogs and xz). Environment:
#   JOBS=N        parallel make jobs (default: nproc)
#   QEMU=path     qemu-system-ppc to time three `autopoweroff` boots with; the
#                 result goes into the README (default: skipped)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/ppc-e500mc"
overlay="$here/initramfs"
rootdisk_overlay="$here/rootdisk"
mode=all
if [[ ${1:-} == --rootdisk ]]; then mode=rootdisk; shift; fi
scratch=${1:-/tmp/ferrite-image-build}
jobs=${JOBS:-$(nproc)}
cross=powerpc-linux-gnu-

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# --- Kernel configuration --------------------------------------------------
# Base: corenet32_smp_defconfig (e500mc, 32-bit). On top of it, the options of
# the reference image plus everything a serial-console initramfs machine on
# QEMU's ppce500 board does not use. Both lists are checked after
# `olddefconfig`, so a symbol that Kconfig silently re-selects fails the build.
kernel_on=(
    # the board: QEMU ppce500 platform, its 16550 UART, MPIC, GPIO power-off, and the
    # DS1338 real-time clock on the I2C controller (the guest's clock starts at the host's)
    PPC_QEMU_E500 PPC_E500MC SERIAL_8250 SERIAL_8250_CONSOLE SERIAL_OF_PLATFORM
    GPIO_MPC8XXX POWER_RESET POWER_RESET_GPIO POWER_RESET_GPIO_RESTART
    I2C I2C_MPC RTC_CLASS RTC_HCTOSYS RTC_INTF_DEV RTC_DRV_DS1307
    # SMP: the same kernel runs with -smp 1 and with secondary CPUs released from the
    # spin table (IPIs are msgsnd doorbells)
    SMP
    # booting from an initramfs
    BLK_DEV_INITRD RD_GZIP DEVTMPFS DEVTMPFS_MOUNT TMPFS BINFMT_ELF BINFMT_SCRIPT
    # virtio devices, for later ferrite work (disks, network, consoles, rng)
    PCI VIRTIO_MENU VIRTIO_PCI VIRTIO_MMIO VIRTIO_BLK VIRTIO_NET VIRTIO_CONSOLE
    HW_RANDOM HW_RANDOM_VIRTIO
    # IPv4 networking stays on (virtio-net will need it)
    NET INET UNIX PACKET NETDEVICES
    EXT4_FS PRINTK_TIME CC_OPTIMIZE_FOR_SIZE KERNEL_GZIP KALLSYMS MAGIC_SYSRQ
    DEBUG_INFO_NONE
)
kernel_off=(
    MODULES
    # debugging, tracing, accounting: none of it is needed to boot
    DEBUG_INFO DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT KALLSYMS_ALL DEBUG_FS FTRACE
    IKCONFIG AUDIT PROFILING PERF_EVENTS BPF_SYSCALL KEXEC PROC_KCORE
    BSD_PROCESS_ACCT TASKSTATS CGROUPS LOCALVERSION_AUTO CHECKPOINT_RESTORE
    SLUB_DEBUG SCHED_DEBUG STACKTRACE DETECT_HUNG_TASK
    DEBUG_SHIRQ RCU_TRACE DEBUG_MISC RUNTIME_TESTING_MENU
    HUGETLBFS SWAP BINFMT_MISC KEYS COMPACTION MIGRATION
    RD_BZIP2 RD_LZMA RD_XZ RD_LZO RD_LZ4 RD_ZSTD
    # other boards and SoC blocks the QEMU board does not have
    CORENET_GENERIC C293_PCIE FSL_CORENET_CF FSL_IFC FSL_LBC FSL_DMA FSL_RIO
    RAPIDIO FSL_HV_MANAGER PPC_EPAPR_HV_BYTECHAN FSL_PAMU IOMMU_SUPPORT EDAC RAS
    QUICC_ENGINE CLK_QORIQ CPU_FREQ CPU_IDLE SUSPEND HIBERNATION PM VIRT_DRIVERS
    FSL_DPAA FSL_FMAN FSL_DPAA_ETH CRYPTO_DEV_FSL_CAAM CRYPTO_DEV_TALITOS
    # buses and device classes
    PCIEPORTBUS USB_SUPPORT SOUND DRM FB VT INPUT SERIO HID MMC ATA SCSI MTD
    SPI WLAN WIRELESS HWMON THERMAL WATCHDOG NVRAM UIO MEMORY PHYLIB
    DMADEVICES MD BLK_DEV_LOOP BLK_DEV_NBD BLK_DEV_RAM NVME_CORE
    POWER_SUPPLY RESET_CONTROLLER VGA_ARB FW_LOADER NVMEM RTC_NVMEM PPS PTP_1588_CLOCK
    # I2C devices the board does not have (it has one: the DS1338 clock)
    EEPROM_AT24 EEPROM_LEGACY I2C_MUX RTC_DRV_DS1374 RTC_DRV_DS3232 RTC_DRV_CMOS
    SERIAL_8250_PCI SERIAL_8250_EXAR SERIAL_8250_DMA SERIAL_8250_MANY_PORTS
    SERIAL_8250_RSA SERIAL_8250_DETECT_IRQ
    SERIAL_8250_PERICOM SERIAL_QE
    # network drivers and protocols beyond plain IPv4
    ETHERNET DUMMY NET_KEY XFRM_USER INET_AH INET_ESP INET_IPCOMP NET_IPIP
    IP_ADVANCED_ROUTER IP_MULTICAST IP_PNP IPV6 NETFILTER IP_SCTP WIRELESS
    INET_DIAG DNS_RESOLVER
    # crypto left over from IPsec and friends (ext4 keeps crc32c)
    CRYPTO_MD4 CRYPTO_NULL CRYPTO_PCBC CRYPTO_SHA512 CRYPTO_SHA3 CRYPTO_GCM
    CRYPTO_XTS CRYPTO_DES CRYPTO_RSA CRYPTO_DEFLATE CRYPTO_LZO CRYPTO_ZSTD CRYPTO_HW
    CRYPTO_JITTERENTROPY CRYPTO_DRBG_MENU CRYPTO_SEQIV CRYPTO_ECHAINIV CRYPTO_AUTHENC
    CRYPTO_GHASH CRYPTO_CBC CRYPTO_CTR CRYPTO_ECB CRYPTO_HMAC CRYPTO_AES CRYPTO_MD5
    CRYPTO_SHA1 CRYPTO_SHA256 CRYPTO_CRCT10DIF CRC_T10DIF CRC_ITU_T MDIO_DEVICE
    # filesystems other than ext4, proc, sysfs, tmpfs, devtmpfs
    EXT2_FS JFFS2_FS UBIFS_FS CRAMFS NTFS_FS VFAT_FS MSDOS_FS NFS_FS NFSD
    ROOT_NFS ISO9660_FS UDF_FS NETWORK_FILESYSTEMS MISC_FILESYSTEMS
    PARTITION_ADVANCED NLS QUOTA FANOTIFY
)

kernel_config() {
    local ksrc=$1 args=() sym val bad=0
    for sym in "${kernel_on[@]}"; do args+=(-e "$sym"); done
    for sym in "${kernel_off[@]}"; do args+=(-d "$sym"); done
    # A default command line, used when the loader passes none.
    args+=(--set-str CMDLINE "console=ttyS0")
    "$ksrc/scripts/config" --file "$ksrc/.config" "${args[@]}"
    kmake olddefconfig
    for sym in "${kernel_on[@]}"; do
        val=$("$ksrc/scripts/config" --file "$ksrc/.config" -s "$sym")
        [[ $val == y ]] || { echo "kernel config: $sym is '$val', wanted y" >&2; bad=1; }
    done
    for sym in "${kernel_off[@]}"; do
        val=$("$ksrc/scripts/config" --file "$ksrc/.config" -s "$sym")
        [[ $val != y && $val != m ]] || { echo "kernel config: $sym is '$val', wanted off" >&2; bad=1; }
    done
    (( bad == 0 )) || die "kernel configuration does not hold (see above)"
}

# --- Host packages -----------------------------------------------------------
packages=(linux-source-6.1 gcc-powerpc-linux-gnu flex bison bc libssl-dev libelf-dev
          cpio u-boot-tools xz-utils dpkg-dev make perl e2fsprogs)

install_packages() {
    local missing=() p
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    (( ${#missing[@]} == 0 )) && return
    (( EUID == 0 )) || die "missing packages (${missing[*]}); run as root or install them"
    log "installing ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# `apt-get source` needs a deb-src entry; add one for bookworm main if none exists.
ensure_deb_src() {
    if grep -rqsE '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' \
            /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return
    fi
    (( EUID == 0 )) || die "no deb-src line in the apt sources; add one or run as root"
    log "adding a deb-src entry for bookworm (/etc/apt/sources.list.d/ferrite-deb-src.sources)"
    cat > /etc/apt/sources.list.d/ferrite-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update
}

# --- Builds ------------------------------------------------------------------
kmake() { nice -n 10 make -s -C "$ksrc" ARCH=powerpc CROSS_COMPILE=$cross -j"$jobs" "$@"; }
bbmake() { nice -n 10 make -s -C "$bbsrc" ARCH=powerpc CROSS_COMPILE=$cross -j"$jobs" "$@"; }

build_kernel() {
    if [[ ! -d $ksrc ]]; then
        log "unpacking the kernel source"
        tar -C "$scratch" -xf /usr/src/linux-source-6.1.tar.xz
    fi
    log "configuring the kernel"
    kmake corenet32_smp_defconfig
    kernel_config "$ksrc"
    log "building the kernel (several minutes)"
    kmake vmlinux uImage
}

build_busybox() {
    if [[ -z $(compgen -G "$scratch/busybox-*/Makefile") ]]; then
        ensure_deb_src
        log "fetching the busybox source"
        (cd "$scratch" && apt-get source busybox)
    fi
    bbsrc=$(dirname "$(compgen -G "$scratch/busybox-*/Makefile" | head -n1)")
    log "building busybox ($bbsrc)"
    bbmake defconfig
    # Static, so the initramfs needs no libc; tc does not build against the
    # bookworm kernel headers and is not needed.
    sed -i 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/; s/^CONFIG_TC=y/# CONFIG_TC is not set/' \
        "$bbsrc/.config"
    bbmake busybox busybox.links
}

# The initramfs is described as a gen_init_cpio list (the kernel's own tool),
# so it needs no root for /dev/console. Files are staged with the
# SOURCE_DATE_EPOCH mtime so the archive is byte-for-byte reproducible.
build_initramfs() {
    local list="$scratch/initramfs.list" stage="$scratch/initramfs-files" d f link
    rm -rf "$stage"
    mkdir -p "$stage/bin"
    cp -r "$overlay/." "$stage/"
    cp "$bbsrc/busybox" "$stage/bin/busybox"
    find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    {
        for d in /bin /sbin /usr /usr/bin /usr/sbin /etc /proc /sys /dev /root /tmp; do
            case $d in
                /root) echo "dir $d 0700 0 0" ;;
                /tmp) echo "dir $d 1777 0 0" ;;
                *) echo "dir $d 0755 0 0" ;;
            esac
        done
        echo "nod /dev/console 0600 0 0 c 5 1"
        echo "file /init $stage/init 0755 0 0"
        echo "file /bin/busybox $stage/bin/busybox 0755 0 0"
        (cd "$stage" && find etc -type f | LC_ALL=C sort) | while read -r f; do
            echo "file /$f $stage/$f 0644 0 0"
        done
        LC_ALL=C sort -u "$bbsrc/busybox.links" | while read -r link; do
            [[ $link == /bin/busybox ]] || echo "slink $link /bin/busybox 0777 0 0"
        done
    } > "$list"
    "$ksrc/usr/gen_init_cpio" -t "$SOURCE_DATE_EPOCH" "$list" | gzip -n -9 > "$out/initramfs.cpio.gz"
}

# --- The ext4 root disk ------------------------------------------------------
# rootfs.ext4.xz holds the initramfs' tree (so the same busybox and /init) plus
# images/rootdisk/ (its /sbin/init), for root=/dev/vda. It is made from the
# initramfs archive without privileges: cpio unpacks as the current user
# (without the device node), mkfs.ext4 -d copies the tree, and debugfs makes
# every inode root's and adds /dev/console. The UUID, hash seed and times are
# fixed, so the same archive gives the same disk.
rootdisk_mib=64
rootdisk_uuid=f3a1c0de-0e50-4d1c-8a2b-5e500c0ffee0

build_rootdisk() {
    local tree="$scratch/rootdisk-tree" img="$scratch/rootfs.ext4" cmds="$scratch/rootdisk.debugfs"
    local epoch p errs
    log "making the ext4 root disk"
    rm -rf "$tree" "$img"
    mkdir -p "$tree"
    gzip -dc "$out/initramfs.cpio.gz" \
        | (cd "$tree" && cpio -idm --quiet --no-absolute-filenames --nonmatching dev/console)
    # /sbin/init is a symlink to /bin/busybox (an absolute path: never write
    # through it), so remove what the overlay replaces before copying.
    (cd "$rootdisk_overlay" && find . -type f) | while read -r p; do rm -f "$tree/$p"; done
    cp -r "$rootdisk_overlay/." "$tree/"
    # Every file of the archive carries its build time; use it for the rest.
    epoch=$(stat -c %Y "$tree/init")
    find "$tree" -exec touch -h -d "@$epoch" {} +
    truncate -s "${rootdisk_mib}M" "$img"
    E2FSPROGS_FAKE_TIME=$epoch mkfs.ext4 -q -F -L rootfs -U "$rootdisk_uuid" \
        -E "hash_seed=$rootdisk_uuid,root_owner=0:0" -d "$tree" "$img"
    {
        (cd "$tree" && find . -mindepth 1 | LC_ALL=C sort) | while read -r p; do
            printf 'sif %s uid 0\nsif %s gid 0\nsif %s ctime @%s\n' "${p#.}" "${p#.}" "${p#.}" "$epoch"
        done
        # debugfs's mknod takes a name in the current directory, not a path.
        printf 'cd /dev\nmknod console c 5 1\nsif console mode 020600\n'
    } > "$cmds"
    # debugfs exits 0 whatever its commands do: anything it says but its
    # banner is an error.
    errs=$(E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$cmds" "$img" 2>&1 >/dev/null | grep -v '^debugfs [0-9]') \
        && die "debugfs: $errs"
    e2fsck -fn "$img" > /dev/null 2>&1 || die "e2fsck finds errors in $img"
    xz -9 -T1 -c "$img" > "$out/rootfs.ext4.xz"
}

# Boots the image three times with `autopoweroff`; sets `timing` to the wall
# times in seconds.
time_boots() {
    local i t0 t1 rc boot_log="$scratch/qemu-boot.log"
    timing=""
    load=$(cut -d' ' -f1 /proc/loadavg)
    for i in 1 2 3; do
        t0=$(date +%s.%N)
        rc=0
        "$QEMU" -M ppce500 -cpu e500mc -m 256 -kernel "$out/uImage" \
            -initrd "$out/initramfs.cpio.gz" -append "console=ttyS0 autopoweroff" \
            -nographic -monitor none -serial stdio -net none > "$boot_log" 2>&1 </dev/null || rc=$?
        t1=$(date +%s.%N)
        (( rc == 0 )) || die "qemu exited with $rc (log: $boot_log)"
        grep -q 'boot complete' "$boot_log" || die "no 'boot complete' in $boot_log"
        timing+="$(printf '%.2f' "$(echo "$t1 - $t0" | bc)") "
    done
    timing="${timing% } s (median $(tr ' ' '\n' <<<"${timing% }" | sort -n | sed -n 2p) s)"
}

write_readme() {
    local timing=$1 kver bbver gccver test_sum
    kver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
    bbver=$(basename "$bbsrc")
    gccver=$(${cross}gcc -dumpfullversion)
    test_sum=$(sha256sum < "$overlay/etc/ferrite-test.txt" | cut -d' ' -f1)
    cat > "$out/README.md" <<EOF
# ferrite's default guest image: PowerPC e500mc, Linux 6.1 + busybox

The image \`ferrite\` boots when it is given no kernel: QEMU's \`ppce500\` board
with an e500mc CPU, a serial console on the first 16550 UART and a busybox
initramfs; the same busybox tree also comes as an ext4 root disk. Generated by
\`images/build.sh\`; do not edit by hand.

| file | what |
| --- | --- |
| \`uImage\` | Linux $(kernel_release), U-Boot legacy image: 64-byte header, gzip payload, load 0, entry 0 |
| \`initramfs.cpio.gz\` | gzip newc cpio: static busybox, \`/init\`, files of \`images/initramfs/\` |
| \`rootfs.ext4.xz\` | xz-compressed ${rootdisk_mib} MiB ext4 root disk: the initramfs' files plus \`images/rootdisk/\` |
| \`kernel.config\` | the kernel's full \`.config\`, for reference |
| \`vmlinux.syms.xz\` | the kernel's symbols, for gdb (see below) |
| \`SHA256SUMS\` | checksums of the files above |

Sizes: uImage $(stat -c %s "$out/uImage") bytes, initramfs.cpio.gz $(stat -c %s "$out/initramfs.cpio.gz") bytes.

## Booting

    qemu-system-ppc -M ppce500 -cpu e500mc -m 256 -kernel uImage -initrd initramfs.cpio.gz \\
        -append "console=ttyS0" -nographic -monitor none -serial stdio -net none

\`/init\` mounts proc, sysfs and devtmpfs and prints
\`Welcome to ferrite's guest: ppc <release>\`. With \`autopoweroff\` on the
kernel command line it then prints \`boot complete, powering off\` and runs
\`poweroff -f\` (the GPIO power-off line; QEMU exits 0). Without it, it starts
\`setsid cttyhack sh\` on the console (job control and Ctrl-C work) and powers
off when that shell exits. The kernel's built-in command line,
\`console=ttyS0\`, applies when the loader passes an empty one.

For tests: \`/etc/ferrite-test.txt\` holds the line \`ferrite guest image test file\`;
\`sha256sum /etc/ferrite-test.txt\` in the guest prints
\`$test_sum\`.

QEMU's \`-serial stdio\` turns Ctrl-C into SIGINT for QEMU itself; to hand it to
the guest, use \`-chardev stdio,id=s0,signal=off -serial chardev:s0\`.

Boot to \`boot complete\` and power-off under qemu-system-ppc 7.2 (TCG), \`-m 256\`,
wall time of three runs: ${timing:-not measured (run build.sh with QEMU=path/to/qemu-system-ppc)}.
Timings depend on host load (1-minute load average $load on $(nproc) host CPUs
when measured); boot of the kernel itself to \`/init\` takes about 0.4 s of
guest time.

## The root disk

\`rootfs.ext4.xz\` is for booting as Buildroot's \`qemu_ppc_e500mc\` does, with
the root file system on a virtio disk and no initramfs:

    xz -dk rootfs.ext4.xz
    qemu-system-ppc -M ppce500 -cpu e500mc -m 256 -kernel uImage \\
        -drive file=rootfs.ext4,if=virtio,format=raw \\
        -append "console=ttyS0 rootwait root=/dev/vda" -serial mon:stdio -nographic

or through a qcow2 overlay, leaving the disk itself untouched:
\`qemu-img create -f qcow2 -b rootfs.ext4 -F raw top.qcow2\`, then
\`-drive file=top.qcow2,if=virtio,format=qcow2\`.

It holds the files of \`initramfs.cpio.gz\` plus \`images/rootdisk/\`, whose
\`/sbin/init\` (the kernel's first choice without an initramfs) remounts \`/\`
read-write (the kernel mounts it read-only unless told \`rw\`) and runs
\`/init\`: the same greeting, shell and \`autopoweroff\` as above. The shell's
\`poweroff -f\` syncs but does not unmount; ext4's journal covers that. The disk is
made from the initramfs archive without root privileges (\`cpio\`,
\`mkfs.ext4 -d\`, then \`debugfs\` for root ownership and \`/dev/console\`),
with a fixed UUID, hash seed and times, so the same archive gives the same disk.

## The kernel

Linux $(kernel_release) from Debian's \`linux-source-6.1\` ($kver), built with
\`gcc-powerpc-linux-gnu\` $gccver. Configuration: \`corenet32_smp_defconfig\`,
then the option lists in \`build.sh\` (\`kernel_on\`, \`kernel_off\`): the QEMU
e500 platform, 16550 serial console, GPIO power-off, the DS1338 clock on I2C, initramfs, virtio
(PCI, MMIO, block, net, console, rng), IPv4, ext4; SMP (one kernel for \`-smp 1\` and more), no modules,
optimised for size; no debug info, other boards, SoC blocks, buses,
filesystems or network drivers. \`STRICT_KERNEL_RWX\` stays on as in the
reference image, so data starts at the 16 MiB boundary (\`DATA_SHIFT=24\`): the
loaded kernel spans about 16.5 MiB, mostly zero padding that gzip removes.
The build also leaves the unstripped \`vmlinux\` (ELF with the symbol table
but no DWARF) in the scratch directory, and commits its symbols alone as
\`vmlinux.syms.xz\` (\`objcopy --only-keep-debug\`, xz): after \`xz -dk\`, gdb
loads it with the image's code read from the guest (\`gdb-multiarch
vmlinux.syms\`, then \`target remote :1234\` against \`ferrite -s\`).

## Busybox

$bbver from \`apt-get source busybox\` (bookworm), \`defconfig\` with
\`CONFIG_STATIC=y\` and without \`tc\`. Applet links are made at build time
from \`busybox.links\`.

## Rebuilding

On Debian bookworm, as root:

    images/build.sh [SCRATCH_DIR]            # default /tmp/ferrite-image-build
    QEMU=/path/to/qemu-system-ppc images/build.sh   # also measure boot time
    images/build.sh --rootdisk [SCRATCH_DIR] # only the root disk, from initramfs.cpio.gz

The last needs no root and takes seconds (cpio, e2fsprogs and xz must be
installed); it rewrites \`rootfs.ext4.xz\` and \`SHA256SUMS\`.

It installs the packages it needs (\`${packages[*]}\`), adds a \`deb-src\` entry
if there is none, builds in SCRATCH_DIR (a first build took 11 minutes on 2
shared cores; reruns are incremental), and rewrites this directory. Timestamps come from
SOURCE_DATE_EPOCH (the date of the linux-source package), so the same package
versions give the same files.
EOF
}

kernel_release() { cat "$ksrc/include/config/kernel.release"; }

write_sums() {
    (cd "$out" && sha256sum uImage initramfs.cpio.gz kernel.config vmlinux.syms.xz rootfs.ext4.xz \
        > SHA256SUMS)
}

# `--rootdisk`: the root disk alone, from the committed initramfs.
rootdisk_only() {
    local t
    for t in cpio mkfs.ext4 debugfs e2fsck xz gzip truncate; do
        command -v "$t" > /dev/null || die "$t is missing (apt-get install cpio e2fsprogs xz-utils)"
    done
    [[ -f $out/initramfs.cpio.gz ]] || die "no $out/initramfs.cpio.gz to make the disk from"
    mkdir -p "$scratch"
    scratch=$(cd "$scratch" && pwd)
    build_rootdisk
    write_sums
    ls -l "$out/rootfs.ext4.xz" >&2
}

main() {
    if [[ $mode == rootdisk ]]; then rootdisk_only; return; fi
    install_packages
    mkdir -p "$scratch" "$out"
    scratch=$(cd "$scratch" && pwd)
    ksrc="$scratch/linux-source-6.1"

    # Reproducible timestamps and build identity: the source package's date.
    SOURCE_DATE_EPOCH=$(date -d "$(zcat /usr/share/doc/linux-source-6.1/changelog.Debian.gz \
        | sed -n 's/^ -- .*>  //p' | head -n1)" +%s)
    export SOURCE_DATE_EPOCH
    export KBUILD_BUILD_TIMESTAMP="$(date -u -d "@$SOURCE_DATE_EPOCH")"
    export KBUILD_BUILD_USER=ferrite KBUILD_BUILD_HOST=ferrite KBUILD_BUILD_VERSION=1

    build_kernel
    build_busybox
    build_initramfs
    build_rootdisk

    cp "$ksrc/arch/powerpc/boot/uImage" "$out/uImage"
    cp "$ksrc/.config" "$out/kernel.config"
    cp "$ksrc/vmlinux" "$scratch/vmlinux"
    "${cross}objcopy" --only-keep-debug "$ksrc/vmlinux" "$scratch/vmlinux.syms"
    xz -9e -c "$scratch/vmlinux.syms" > "$out/vmlinux.syms.xz"

    timing="" load="?"
    if [[ -n ${QEMU:-} ]]; then
        log "timing three boots under $QEMU"
        time_boots
    fi
    write_readme "$timing"
    write_sums

    log "done"
    ls -l "$out" >&2
    echo "unstripped vmlinux (symbols, for gdb): $scratch/vmlinux"
}

# Sourcing the script (for debugging single steps) defines the functions only.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
