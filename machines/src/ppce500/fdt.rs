//! The device tree of the `ppce500` board, as QEMU 7.2 generates it (`ppce500_load_device_tree`)
//! minus the devices ferrite does not model yet. Linux's `qemu_e500` platform matches on the
//! root `compatible`, finds the MPIC by `device_type = "open-pic"`, the console by
//! `stdout-path`, the timebase frequency on the CPU node, and the PCI host bridge by
//! `compatible = "fsl,mpc8540-pci"`.

use super::map;
use vm_fdt::{Error as FdtError, FdtWriter};

/// What the tree must describe.
#[derive(Clone, Debug)]
pub struct FdtConfig {
    /// Guest RAM size in bytes.
    pub ram_size: u64,
    /// Kernel command line (`-append`).
    pub cmdline: String,
    /// Physical start and end of the initrd, if any.
    pub initrd: Option<(u64, u64)>,
    /// Number of CPUs.
    pub cpus: u32,
    /// Number of UARTs (1 or 2).
    pub serials: u32,
    /// 32 bytes of entropy for `/chosen/rng-seed`.
    pub rng_seed: [u8; 32],
}

const PH_MPIC: u32 = 0x8003;
const PH_MSI: u32 = 0x8004;
const PH_GPIO: u32 = 0x8005;

/// Builds the flattened device tree blob.
pub fn build(cfg: &FdtConfig) -> Result<Vec<u8>, FdtError> {
    let mut f = FdtWriter::new()?;
    let root = f.begin_node("")?;
    f.property_string("compatible", "fsl,qemu-e500")?;
    f.property_string("model", "QEMU ppce500")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;

    let soc = format!("/soc@{:x}", map::CCSR_BASE);
    let serial0 = format!("{soc}/serial@{:x}", map::UART0_OFFSET);

    let aliases = f.begin_node("aliases")?;
    f.property_string("serial0", &serial0)?;
    f.property_string("pci0", &format!("/pci@{:x}", map::CCSR_BASE + map::PCI_OFFSET))?;
    if cfg.serials > 1 {
        f.property_string("serial1", &format!("{soc}/serial@{:x}", map::UART1_OFFSET))?;
    }
    f.property_string("i2c", &format!("{soc}/i2c@{:x}", map::I2C_OFFSET))?;
    // (QEMU's spelling: relative to the i2c alias.)
    f.property_string("rtc", &format!("i2c/rtc@{:x}", map::RTC_I2C_ADDR))?;
    f.end_node(aliases)?;

    let chosen = f.begin_node("chosen")?;
    f.property_string("bootargs", &cfg.cmdline)?;
    f.property_string("stdout-path", &serial0)?;
    f.property_string("linux,stdout-path", &serial0)?;
    if let Some((start, end)) = cfg.initrd {
        f.property_u32("linux,initrd-start", start as u32)?;
        f.property_u32("linux,initrd-end", end as u32)?;
    }
    f.property("rng-seed", &cfg.rng_seed)?;
    f.end_node(chosen)?;

    let mem = f.begin_node("memory")?;
    f.property_string("device_type", "memory")?;
    f.property_array_u64("reg", &[0, cfg.ram_size])?;
    f.end_node(mem)?;

    let cpus = f.begin_node("cpus")?;
    f.property_u32("#address-cells", 1)?;
    f.property_u32("#size-cells", 0)?;
    for i in 0..cfg.cpus {
        let cpu = f.begin_node(&format!("PowerPC,8544@{i}"))?;
        f.property_string("device_type", "cpu")?;
        f.property_u32("reg", i)?;
        f.property_u32("clock-frequency", map::CLOCK_HZ)?;
        f.property_u32("timebase-frequency", map::TIMEBASE_HZ)?;
        f.property_u32("bus-frequency", 0)?;
        f.property_u32("d-cache-line-size", 64)?;
        f.property_u32("i-cache-line-size", 64)?;
        f.property_u32("d-cache-size", 0x8000)?;
        f.property_u32("i-cache-size", 0x8000)?;
        if i == 0 {
            f.property_string("status", "okay")?;
        } else {
            f.property_string("status", "disabled")?;
            f.property_string("enable-method", "spin-table")?;
            let rel = map::SPIN_BASE + 0x20 * i as u64;
            f.property_array_u32("cpu-release-addr", &[(rel >> 32) as u32, rel as u32])?;
        }
        f.end_node(cpu)?;
    }
    f.end_node(cpus)?;

    // QEMU's bus for devices added at run time (`-device` eTSEC, pflash): empty here, as in
    // QEMU without such devices, and probed by Linux all the same.
    let platform = f.begin_node(&format!("platform@{:x}", map::PLATFORM_BASE))?;
    f.property_string_list("compatible", vec!["qemu,platform".into(), "simple-bus".into()])?;
    f.property_u32("#address-cells", 1)?;
    f.property_u32("#size-cells", 1)?;
    f.property_array_u32("ranges", &[0, (map::PLATFORM_BASE >> 32) as u32, map::PLATFORM_BASE as u32, map::PLATFORM_SIZE as u32])?;
    f.property_u32("interrupt-parent", PH_MPIC)?;
    f.end_node(platform)?;

    pci_node(&mut f)?;

    let s = f.begin_node(&format!("soc@{:x}", map::CCSR_BASE))?;
    f.property_string("device_type", "soc")?;
    f.property_string_list("compatible", vec!["fsl,mpc8544-immr".into(), "simple-bus".into()])?;
    f.property_u32("#address-cells", 1)?;
    f.property_u32("#size-cells", 1)?;
    f.property_array_u32(
        "ranges",
        &[0, (map::CCSR_BASE >> 32) as u32, map::CCSR_BASE as u32, map::CCSR_SIZE as u32],
    )?;
    f.property_u32("bus-frequency", 0)?;

    let pic = f.begin_node(&format!("pic@{:x}", map::MPIC_OFFSET))?;
    f.property_string("device_type", "open-pic")?;
    f.property_string("compatible", "fsl,mpic")?;
    f.property_array_u32("reg", &[map::MPIC_OFFSET as u32, map::MPIC_SIZE as u32])?;
    f.property_null("interrupt-controller")?;
    f.property_u32("#interrupt-cells", 2)?;
    f.property_u32("#address-cells", 0)?;
    f.property_u32("phandle", PH_MPIC)?;
    f.property_u32("linux,phandle", PH_MPIC)?;
    f.end_node(pic)?;

    let msi = f.begin_node(&format!("msi@{:x}", map::MSI_OFFSET))?;
    f.property_string("compatible", "fsl,mpic-msi")?;
    f.property_array_u32("reg", &[map::MSI_OFFSET as u32, 0x200])?;
    f.property_array_u32("msi-available-ranges", &[0, 0x100])?;
    f.property_u32("interrupt-parent", PH_MPIC)?;
    let irqs: Vec<u32> = (0xe0..0xe8).flat_map(|n| [n, 0]).collect();
    f.property_array_u32("interrupts", &irqs)?;
    f.property_u32("phandle", PH_MSI)?;
    f.end_node(msi)?;

    for i in (0..cfg.serials.min(2)).rev() {
        let off = if i == 0 { map::UART0_OFFSET } else { map::UART1_OFFSET };
        let ser = f.begin_node(&format!("serial@{off:x}"))?;
        f.property_string("device_type", "serial")?;
        f.property_string("compatible", "ns16550")?;
        f.property_array_u32("reg", &[off as u32, 0x100])?;
        f.property_u32("cell-index", i)?;
        f.property_u32("clock-frequency", map::CLOCK_HZ)?;
        f.property_array_u32("interrupts", &[map::IRQ_UART, 2])?;
        f.property_u32("interrupt-parent", PH_MPIC)?;
        f.end_node(ser)?;
    }

    let i2c = f.begin_node(&format!("i2c@{:x}", map::I2C_OFFSET))?;
    f.property_string("device_type", "i2c")?;
    f.property_string("compatible", "fsl-i2c")?;
    f.property_array_u32("reg", &[map::I2C_OFFSET as u32, map::I2C_SIZE as u32])?;
    f.property_u32("cell-index", 0)?;
    f.property_array_u32("interrupts", &[map::IRQ_I2C, 2])?;
    f.property_u32("interrupt-parent", PH_MPIC)?;
    // A DS1338; Linux's rtc-ds1307 driver knows it by this name.
    let rtc = f.begin_node(&format!("rtc@{:x}", map::RTC_I2C_ADDR))?;
    f.property_string("compatible", "pericom,pt7c4338")?;
    f.property_u32("reg", map::RTC_I2C_ADDR as u32)?;
    f.end_node(rtc)?;
    f.end_node(i2c)?;

    let guts = f.begin_node(&format!("global-utilities@{:x}", map::GUTS_OFFSET))?;
    f.property_string("compatible", "fsl,mpc8544-guts")?;
    f.property_array_u32("reg", &[map::GUTS_OFFSET as u32, 0x1000])?;
    f.property_null("fsl,has-rstcr")?;
    f.end_node(guts)?;

    let gpio = f.begin_node(&format!("gpio@{:x}", map::GPIO_OFFSET))?;
    f.property_string("compatible", "fsl,qoriq-gpio")?;
    f.property_array_u32("reg", &[map::GPIO_OFFSET as u32, 0x1000])?;
    f.property_array_u32("interrupts", &[map::IRQ_GPIO, 2])?;
    f.property_u32("interrupt-parent", PH_MPIC)?;
    f.property_null("gpio-controller")?;
    f.property_u32("#gpio-cells", 2)?;
    f.property_u32("phandle", PH_GPIO)?;
    f.end_node(gpio)?;

    let poweroff = f.begin_node("power-off")?;
    f.property_string("compatible", "gpio-poweroff")?;
    f.property_array_u32("gpios", &[PH_GPIO, 0, 0])?;
    f.end_node(poweroff)?;

    f.end_node(s)?;
    f.end_node(root)?;
    let mut blob = f.finish()?;
    pad_as_qemu(&mut blob);
    Ok(blob)
}

/// Size QEMU gives its blob: it never packs the tree, so the header says 1 MiB.
pub const QEMU_BLOB_SIZE: usize = 1 << 20;

/// Grows the blob to [`QEMU_BLOB_SIZE`] with free space at its end, as QEMU's is: Linux
/// reserves a blob's whole `totalsize`, and a packed one left the guest 1016 KiB more free
/// memory than under QEMU.
fn pad_as_qemu(blob: &mut Vec<u8>) {
    if blob.len() < QEMU_BLOB_SIZE {
        blob.resize(QEMU_BLOB_SIZE, 0);
        blob[4..8].copy_from_slice(&(QEMU_BLOB_SIZE as u32).to_be_bytes());
    }
}

/// The PCI host bridge, as QEMU describes it: one memory and one I/O window, INTx of every
/// slot 1..31 mapped to MPIC sources 1..4 (level, active low).
fn pci_node(f: &mut FdtWriter) -> Result<(), FdtError> {
    let base = map::CCSR_BASE + map::PCI_OFFSET;
    let pci = f.begin_node(&format!("pci@{base:x}"))?;
    f.property_string("compatible", "fsl,mpc8540-pci")?;
    f.property_string("device_type", "pci")?;
    f.property_u32("cell-index", 0)?;
    f.property_array_u32("reg", &[(base >> 32) as u32, base as u32, 0, map::PCI_SIZE as u32])?;
    let hi = |x: u64| (x >> 32) as u32;
    f.property_array_u32(
        "ranges",
        &[
            0x0200_0000, // 32-bit memory space
            hi(map::PCI_MEM_BUS),
            map::PCI_MEM_BUS as u32,
            hi(map::PCI_MEM_CPU),
            map::PCI_MEM_CPU as u32,
            hi(map::PCI_MEM_SIZE),
            map::PCI_MEM_SIZE as u32,
            0x0100_0000, // I/O space
            0,
            0,
            hi(map::PCI_IO_CPU),
            map::PCI_IO_CPU as u32,
            hi(map::PCI_IO_SIZE),
            map::PCI_IO_SIZE as u32,
        ],
    )?;
    f.property_array_u32("bus-range", &[0, 255])?;
    f.property_u32("clock-frequency", 66_666_666)?;
    f.property_u32("#address-cells", 3)?;
    f.property_u32("#size-cells", 2)?;
    f.property_u32("#interrupt-cells", 1)?;
    f.property_u32("interrupt-parent", PH_MPIC)?;
    f.property_array_u32("interrupts", &[map::IRQ_PCI_CONTROLLER, 2])?;
    f.property_u32("fsl,msi", PH_MSI)?;
    f.property_array_u32("interrupt-map-mask", &[0xf800, 0, 0, 7])?;
    let mut imap = Vec::new();
    for slot in 1..u32::from(map::PCI_SLOTS) {
        for pin in 0..4 {
            // Same swizzle as the host bridge model: output (slot + pin) % 4.
            let source = map::IRQ_PCI_BASE + (slot + pin) % 4;
            imap.extend_from_slice(&[slot << 11, 0, 0, pin + 1, PH_MPIC, source, 1]);
        }
    }
    f.property_array_u32("interrupt-map", &imap)?;
    f.end_node(pci)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_has_what_linux_looks_for() {
        let blob = build(&FdtConfig {
            ram_size: 256 << 20,
            cmdline: "console=ttyS0".into(),
            initrd: Some((0x400_0000, 0x410_0000)),
            cpus: 2,
            serials: 1,
            rng_seed: [7; 32],
        })
        .unwrap();
        assert_eq!(&blob[..4], &[0xd0, 0x0d, 0xfe, 0xed]);
        assert_eq!(blob.len(), QEMU_BLOB_SIZE, "as large as QEMU's");
        assert_eq!(u32::from_be_bytes(blob[4..8].try_into().unwrap()), QEMU_BLOB_SIZE as u32, "totalsize");
        let strings_end = |off: usize| u32::from_be_bytes(blob[off..off + 4].try_into().unwrap()) as usize;
        assert!(strings_end(12) + strings_end(32) < QEMU_BLOB_SIZE, "the padding is free space after the strings");
        let text = String::from_utf8_lossy(&blob);
        for needle in ["fsl,qemu-e500", "open-pic", "ns16550", "console=ttyS0", "gpio-poweroff", "spin-table", "fsl,has-rstcr", "fsl,mpc8540-pci", "/pci@fe0008000", "fsl-i2c", "pericom,pt7c4338", "qemu,platform"] {
            assert!(text.contains(needle), "missing {needle}");
        }
    }
}
