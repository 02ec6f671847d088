//! Direct kernel boot on ppce500 (QEMU 7.2 `ppce500_init` / `ppce500_cpu_reset`): where the
//! kernel, initrd and device tree go, and the state CPU 0 starts in.

use crate::loader::{self, LoadError, LoadedImage};
use ferrite_ppc::cpu::PpcCpu;
use ferrite_softmmu::AddressSpace;
use std::path::Path;

/// The initrd goes this far above the kernel (rounded down to 16 MiB).
const INITRD_LOAD_PAD: u64 = 0x200_0000;
const INITRD_PAD_MASK: u64 = 0xff_ffff;
/// The device tree goes this far above the kernel (rounded down to 1 MiB).
const DTC_LOAD_PAD: u64 = 0x180_0000;
const DTC_PAD_MASK: u64 = 0xf_ffff;
/// Space QEMU reserves for the device tree.
pub const DTB_MAX_SIZE: u64 = 8 << 20;
/// ePAPR boot magic in r6.
pub const EPAPR_MAGIC: u32 = 0x4550_4150;

/// Where things were placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The loaded kernel.
    pub kernel: LoadedImage,
    /// Initrd physical start and end, if any.
    pub initrd: Option<(u64, u64)>,
    /// Device tree physical address.
    pub dtb: u64,
    /// Size of the initial mapped area (TLB1[0], r7).
    pub ima: u64,
}

/// Why booting is impossible.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// An image could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The device tree does not fit below the end of RAM.
    #[error("not enough memory for the device tree at {dtb:#x} (needs {DTB_MAX_SIZE:#x} bytes below the end of RAM {ram:#x}; raise -m)")]
    NoRoomForDtb {
        /// Where it would go.
        dtb: u64,
        /// RAM size.
        ram: u64,
    },
    /// The device tree blob is malformed.
    #[error("{path}: not a device tree blob: {detail}")]
    BadDtb {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

/// Loads the kernel (ELF, else uImage) from `data`.
pub fn load_kernel(path: &Path, data: &[u8], space: &AddressSpace, ram: u64) -> Result<LoadedImage, LoadError> {
    if data.starts_with(b"\x7fELF") {
        loader::load_elf(path, data, space, ram)
    } else if data.len() >= 4 && u32::from_be_bytes(data[..4].try_into().unwrap()) == loader::UIMAGE_MAGIC {
        loader::load_uimage(path, data, space, ram)
    } else {
        Err(LoadError::UnknownFormat { path: path.to_owned(), magic: data.iter().take(8).copied().collect() })
    }
}

/// Places the initrd after the kernel and computes the device tree address and the initial
/// mapping (writes the initrd, not the device tree: that depends on the initrd placement).
pub fn place(kernel: LoadedImage, initrd: Option<(&Path, &[u8])>, space: &AddressSpace, ram: u64) -> Result<Placement, BootError> {
    let payload_end = kernel.high;
    let cur_base = payload_end.max(32 << 20);
    let initrd = match initrd {
        Some((path, data)) => {
            let base = (cur_base + INITRD_LOAD_PAD) & !INITRD_PAD_MASK;
            let end = base + data.len() as u64;
            loader::check_fits(path, base, end, ram)?;
            space
                .write_ram(base, data)
                .map_err(|e| LoadError::Corrupt { path: path.to_owned(), detail: e.to_string() })?;
            Some((base, end))
        }
        None => None,
    };
    let dtb = (payload_end + DTC_LOAD_PAD) & !DTC_PAD_MASK;
    if dtb + DTB_MAX_SIZE > ram {
        return Err(BootError::NoRoomForDtb { dtb, ram });
    }
    Ok(Placement { kernel, initrd, dtb, ima: initial_map_size(dtb + super::fdt::QEMU_BLOB_SIZE as u64) })
}

/// QEMU's `mmubooke_initial_mapsize`: the smallest power-of-4 KiB page covering `end`.
pub fn initial_map_size(end: u64) -> u64 {
    let kib = (end >> 10).max(1);
    let mut ps = 63 - kib.leading_zeros() + 1;
    ps += ps & 1;
    1024u64 << ps
}

/// Puts CPU 0 in the state QEMU enters a kernel with: MSR 0, PC at the entry, r1 below 16 MiB,
/// r3 = device tree, r6 = ePAPR magic, r7 = initial mapped area, and TLB1[0] mapping that
/// area 1:1 with full permissions.
pub fn enter_kernel(cpu: &mut PpcCpu, p: &Placement) {
    cpu.regs.gpr = [0; 32];
    cpu.regs.gpr[1] = (16 << 20) - 8;
    cpu.regs.gpr[3] = p.dtb as u32;
    cpu.regs.gpr[6] = EPAPR_MAGIC;
    cpu.regs.gpr[7] = p.ima as u32;
    cpu.set_msr(0);
    cpu.set_pc(p.kernel.entry as u32);
    let tsize = (p.ima.trailing_zeros() - 10) as u32;
    map_tlb1(cpu, 0, 0, 0, tsize, false);
}

/// Writes TLB1 entry `esel` through the MAS registers, as firmware would: `ea` to `pa`, page
/// size 1 KiB << `tsize`, all permissions, `m` = memory coherence required.
pub fn map_tlb1(cpu: &mut PpcCpu, esel: u32, ea: u32, pa: u64, tsize: u32, m: bool) {
    const MAS1_VALID: u32 = 0x8000_0000;
    cpu.write_spr(624, (1 << 28) | (esel << 16));
    cpu.write_spr(625, MAS1_VALID | (tsize << 7));
    cpu.write_spr(626, (ea & 0xffff_f000) | if m { 0x4 } else { 0 });
    cpu.write_spr(627, (pa as u32 & 0xffff_f000) | 0x3f);
    cpu.write_spr(944, (pa >> 32) as u32);
    cpu.mmu.tlbwe().expect("a valid boot mapping");
    cpu.hdr.flush_tlb();
}

/// Releases secondary CPU `cpu` from the spin table (QEMU `spin_kick`): PC in the 64 MiB page
/// at `addr`, mapped by TLB1[1] with M set, r3 from the table, r7 = 64 MiB.
pub fn kick_secondary(cpu: &mut PpcCpu, addr: u64, r3: u32) {
    const IMA: u64 = 64 << 20;
    cpu.regs.gpr = [0; 32];
    cpu.regs.gpr[3] = r3;
    cpu.regs.gpr[7] = IMA as u32;
    cpu.set_msr(0);
    cpu.set_pc((addr & (IMA - 1)) as u32);
    map_tlb1(cpu, 1, 0, addr & !(IMA - 1), 16, true);
    cpu.halted = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_matches_qemu() {
        assert_eq!(initial_map_size(0x190_0000 + (1 << 20)), 64 << 20);
        assert_eq!(initial_map_size(0x440_0000), 256 << 20);
        let k = LoadedImage { entry: 0, low: 0, high: 0x10_0000 };
        let space = AddressSpace::new();
        let p = place(k, None, &space, 256 << 20).unwrap();
        assert_eq!(p.dtb, 0x190_0000, "a 1 MiB ELF puts the DTB at 0x1900000 (QEMU, checked live)");
        assert_eq!(p.ima, 64 << 20);
    }
}
