//! The ePAPR spin table through which the boot CPU releases the others (QEMU
//! `hw/ppc/ppce500_spin.c`): one 32-byte big-endian entry per CPU, `u64 addr`, `u64 r3`,
//! `u32 resv`, `u32 pir`, `u64 reserved`. A secondary CPU waits, halted, while its `addr` is
//! odd; a write that leaves it even releases the CPU at that address.
//!
//! The device runs inside the writing CPU's block, where the released CPU's state must not be
//! touched, so it only queues the release and wakes the machine loop, which starts the CPU
//! (`boot::kick_secondary`) before it next runs one.

use ferrite_softmmu::MmioDevice;
use std::sync::{Arc, Mutex};

/// Bytes per CPU.
pub const ENTRY_SIZE: u64 = 32;
/// Entries in the table (QEMU's `MAX_CPUS`; also the board's CPU limit).
pub const MAX_ENTRIES: u64 = 32;
/// The table's size.
pub const TABLE_SIZE: u64 = ENTRY_SIZE * MAX_ENTRIES;
/// `addr` of a CPU still waiting (any odd value).
const WAITING: u64 = 1;

/// A CPU the guest released: start `cpu` at physical `addr` with `r3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    /// Which CPU.
    pub cpu: usize,
    /// Its entry point (physical).
    pub addr: u64,
    /// Its r3.
    pub r3: u64,
}

/// Releases the machine loop has yet to carry out.
pub type Releases = Arc<Mutex<Vec<Release>>>;

/// The spin table of a board with `cpus` CPUs.
pub struct SpinTable {
    table: Vec<u8>,
    cpus: usize,
    releases: Releases,
    wake: Box<dyn Fn() + Send>,
}

impl SpinTable {
    /// A table for `cpus` CPUs in its reset state; releases go to `releases`, and `wake` makes
    /// the machine loop look at them soon.
    pub fn new(cpus: usize, releases: Releases, wake: Box<dyn Fn() + Send>) -> SpinTable {
        let mut t = SpinTable { table: vec![0; TABLE_SIZE as usize], cpus, releases, wake };
        t.reset();
        t
    }

    fn field(&self, cpu: usize, offset: usize, len: usize) -> u64 {
        let at = cpu * ENTRY_SIZE as usize + offset;
        be_load(&self.table[at..at + len])
    }

    fn set_field(&mut self, cpu: usize, offset: usize, len: usize, value: u64) {
        let at = cpu * ENTRY_SIZE as usize + offset;
        be_store(&mut self.table[at..at + len], value);
    }
}

/// The big-endian number in `bytes`.
fn be_load(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |v, &b| v << 8 | u64::from(b))
}

/// Stores the low bytes of `value` in `bytes`, big-endian.
fn be_store(bytes: &mut [u8], value: u64) {
    let len = bytes.len();
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (value >> (8 * (len - 1 - i))) as u8;
    }
}

impl MmioDevice for SpinTable {
    fn read(&mut self, offset: u64, size: u32) -> u64 {
        let at = offset as usize;
        self.table.get(at..at + size as usize).map_or(0, be_load)
    }

    fn write(&mut self, offset: u64, size: u32, value: u64) {
        let cpu = (offset / ENTRY_SIZE) as usize;
        let at = offset as usize;
        if cpu >= self.cpus || at + size as usize > self.table.len() {
            tracing::warn!(target: "guest_errors", "spin table: write to {offset:#x} is past the last CPU's entry");
            return;
        }
        be_store(&mut self.table[at..at + size as usize], value);
        // CPU 0 is the one that boots; the others start on any write that leaves `addr` even
        // (QEMU's rule: the guest writes `addr` last, its low word last of all).
        let addr = self.field(cpu, 0, 8);
        if cpu != 0 && addr & 1 == 0 {
            // QEMU reports the CPU's own PIR back in the entry.
            self.set_field(cpu, 0x14, 4, cpu as u64);
            let r3 = self.field(cpu, 8, 8);
            self.releases.lock().unwrap().push(Release { cpu, addr, r3 });
            (self.wake)();
        }
    }

    fn reset(&mut self) {
        self.table.fill(0);
        for cpu in 0..self.cpus {
            self.set_field(cpu, 0, 8, WAITING);
            self.set_field(cpu, 8, 8, cpu as u64);
            self.set_field(cpu, 0x14, 4, cpu as u64);
        }
        self.releases.lock().unwrap().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn table(cpus: usize) -> (SpinTable, Releases, Arc<AtomicU32>) {
        let releases = Releases::default();
        let woken = Arc::new(AtomicU32::new(0));
        let w = woken.clone();
        let t = SpinTable::new(cpus, releases.clone(), Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        (t, releases, woken)
    }

    #[test]
    fn reset_state_is_qemus() {
        let (mut t, ..) = table(2);
        assert_eq!(t.read(0x20, 8), 1, "addr: waiting");
        assert_eq!(t.read(0x28, 8), 1, "r3: the CPU's index");
        assert_eq!(t.read(0x34, 4), 1, "pir");
        assert_eq!(t.read(0x04, 4), 1);
    }

    #[test]
    fn linux_release_sequence_starts_the_cpu_on_the_low_address_word() {
        let (mut t, releases, woken) = table(4);
        // smp_85xx_start_cpu: pir, r3, addr_h, then addr_l.
        t.write(0x40 + 0x14, 4, 2);
        t.write(0x40 + 0x08, 4, 0);
        t.write(0x40 + 0x0c, 4, 0x1234);
        t.write(0x40, 4, 0);
        assert!(releases.lock().unwrap().is_empty(), "addr is still odd: nothing starts");
        assert_eq!(woken.load(Ordering::SeqCst), 0);
        t.write(0x44, 4, 0x0100_0000);
        assert_eq!(*releases.lock().unwrap(), vec![Release { cpu: 2, addr: 0x0100_0000, r3: 0x1234 }]);
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert_eq!(t.read(0x40, 8), 0x0100_0000, "the table reads back what was written");
    }

    #[test]
    fn boot_cpu_and_missing_cpus_are_never_released() {
        let (mut t, releases, _) = table(2);
        t.write(0x04, 4, 0x2000);
        t.write(0x44, 4, 0x2000);
        t.write(TABLE_SIZE, 4, 0);
        assert!(releases.lock().unwrap().is_empty());
        assert_eq!(t.read(0x40, 8), 0, "no entry beyond the CPUs reads back");
    }

    #[test]
    fn reset_waits_again() {
        let (mut t, releases, _) = table(2);
        t.write(0x24, 4, 0x2000);
        t.reset();
        assert!(releases.lock().unwrap().is_empty());
        assert_eq!(t.read(0x20, 8), 1);
    }
}
