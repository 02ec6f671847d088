//! The `ppce500` physical memory map and interrupt numbers (QEMU 7.2 `e500plat.c`, `e500.c`).

/// Configuration, control and status registers: all on-chip devices.
pub const CCSR_BASE: u64 = 0xf_e000_0000;
/// Size of CCSR.
pub const CCSR_SIZE: u64 = 0x10_0000;
/// I2C controller (`fsl-i2c`), offset in CCSR.
pub const I2C_OFFSET: u64 = 0x3000;
/// Its register block as the device tree gives it (QEMU maps the same 0x14 bytes).
pub const I2C_SIZE: u64 = 0x14;
/// I2C address of the DS1338 real-time clock.
pub const RTC_I2C_ADDR: u8 = 0x68;
/// First UART, offset in CCSR.
pub const UART0_OFFSET: u64 = 0x4500;
/// Second UART.
pub const UART1_OFFSET: u64 = 0x4600;
/// PCI host bridge registers (`fsl,mpc8540-pci`).
pub const PCI_OFFSET: u64 = 0x8000;
/// PCI host bridge register block size.
pub const PCI_SIZE: u64 = 0x1000;
/// PCI memory window: CPU address (DT `ranges`; mapped once Linux programs the ATMU).
pub const PCI_MEM_CPU: u64 = 0xc_0000_0000;
/// PCI memory window: PCI bus address.
pub const PCI_MEM_BUS: u64 = 0xe000_0000;
/// PCI memory window size.
pub const PCI_MEM_SIZE: u64 = 0x2000_0000;
/// PCI I/O window: CPU address (PCI I/O address 0).
pub const PCI_IO_CPU: u64 = 0xf_e100_0000;
/// PCI I/O window size.
pub const PCI_IO_SIZE: u64 = 0x1_0000;
/// PCI slots: 0 is the host bridge, devices from 1.
pub const PCI_SLOTS: u8 = 32;
/// OpenPIC / MPIC.
pub const MPIC_OFFSET: u64 = 0x4_0000;
/// MPIC register window size.
pub const MPIC_SIZE: u64 = 0x4_0000;
/// MSI bank (inside the MPIC window).
pub const MSI_OFFSET: u64 = 0x4_1600;
/// Global utilities (reset control).
pub const GUTS_OFFSET: u64 = 0xe_0000;
/// GPIO controller (pin 0 is power-off).
pub const GPIO_OFFSET: u64 = 0xf_f000;
/// QEMU's platform bus for dynamic devices (empty: described in the device tree only).
pub const PLATFORM_BASE: u64 = 0xf_0000_0000;
/// Its size.
pub const PLATFORM_SIZE: u64 = 0x800_0000;
/// ePAPR spin table for secondary CPUs.
pub const SPIN_BASE: u64 = 0xf_ef00_0000;

/// MPIC source of the UARTs.
pub const IRQ_UART: u32 = 42;
/// MPIC source of PCI interrupt output 0; outputs 1..3 follow (QEMU's `pci_irq_nrs`).
pub const IRQ_PCI_BASE: u32 = 1;
/// MPIC source of the PCI controller's own interrupt (in the DT, not wired, as in QEMU).
pub const IRQ_PCI_CONTROLLER: u32 = 24;
/// MPIC source of the I2C controller.
pub const IRQ_I2C: u32 = 43;
/// MPIC source of the GPIO controller.
pub const IRQ_GPIO: u32 = 47;

/// Platform clock, also the UART input clock (DT `clock-frequency`).
pub const CLOCK_HZ: u32 = 400_000_000;
/// Timebase frequency.
pub const TIMEBASE_HZ: u32 = 400_000_000;
