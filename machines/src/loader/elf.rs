//! ELF kernels and bare-metal programs: loaded at each PT_LOAD's physical address, entered at
//! `e_entry` translated from virtual to physical through the segment containing it (what QEMU
//! does for ppce500).

use super::{check_fits, LoadError, LoadedImage};
use ferrite_softmmu::AddressSpace;
use goblin::elf::{header, program_header::PT_LOAD, Elf};
use std::path::Path;

/// Loads a 32-bit big-endian PowerPC ELF from `data` into RAM of `ram` bytes at physical 0.
pub fn load_elf(path: &Path, data: &[u8], space: &AddressSpace, ram: u64) -> Result<LoadedImage, LoadError> {
    let corrupt = |detail: String| LoadError::Corrupt { path: path.to_owned(), detail };
    let elf = Elf::parse(data).map_err(|e| corrupt(e.to_string()))?;
    let want = "a 32-bit big-endian PowerPC ELF";
    if elf.header.e_machine != header::EM_PPC || elf.is_64 || elf.little_endian {
        return Err(LoadError::WrongArch {
            path: path.to_owned(),
            detail: format!(
                "{}-bit {}-endian ELF for machine {} ({})",
                if elf.is_64 { 64 } else { 32 },
                if elf.little_endian { "little" } else { "big" },
                elf.header.e_machine,
                header::machine_to_str(elf.header.e_machine)
            ),
            want,
        });
    }
    let loads: Vec<_> = elf.program_headers.iter().filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0).collect();
    if loads.is_empty() {
        return Err(corrupt("no loadable segments".into()));
    }
    // Validate everything before writing anything.
    for p in &loads {
        let end_in_file = p.p_offset.checked_add(p.p_filesz).ok_or_else(|| corrupt("segment size overflows".into()))?;
        if end_in_file > data.len() as u64 {
            return Err(corrupt(format!(
                "segment at file offset {:#x}+{:#x} runs past the end of the file ({:#x} bytes)",
                p.p_offset,
                p.p_filesz,
                data.len()
            )));
        }
        if p.p_filesz > p.p_memsz {
            return Err(corrupt("segment file size exceeds its memory size".into()));
        }
        let end = p.p_paddr.checked_add(p.p_memsz).ok_or_else(|| corrupt("segment address overflows".into()))?;
        check_fits(path, p.p_paddr, end, ram)?;
    }
    let mut low = u64::MAX;
    let mut high = 0;
    for p in &loads {
        let file = &data[p.p_offset as usize..(p.p_offset + p.p_filesz) as usize];
        space.write_ram(p.p_paddr, file).map_err(|e| corrupt(e.to_string()))?;
        let zeros = vec![0u8; (p.p_memsz - p.p_filesz) as usize];
        space.write_ram(p.p_paddr + p.p_filesz, &zeros).map_err(|e| corrupt(e.to_string()))?;
        low = low.min(p.p_paddr);
        high = high.max(p.p_paddr + p.p_memsz);
    }
    let e = elf.header.e_entry;
    let entry = loads
        .iter()
        .find(|p| e >= p.p_vaddr && e < p.p_vaddr + p.p_memsz)
        .map(|p| e - p.p_vaddr + p.p_paddr)
        .unwrap_or(e);
    Ok(LoadedImage { entry, low, high })
}
