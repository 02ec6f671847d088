//! Tests of the e500mc MMU, including the sequence Linux 6.1's head_85xx.S performs at boot.

use super::entry::mas::*;
use super::*;
use ferrite_softmmu::TlbFill;

const RWX_ALL: u32 = 0x3f;

/// Writes TLB1[esel] or a TLB0 way through the MAS registers.
fn write(m: &mut BookeMmu, tlbsel: u32, esel: u32, mas1: u32, mas2: u32, mas3: u32, mas7: u32) -> Result<TlbEffect, MmuError> {
    m.mas0 = (tlbsel << 28) | (esel << 16);
    m.mas1 = mas1;
    m.mas2 = mas2;
    m.mas3 = mas3;
    m.mas7 = mas7;
    m.tlbwe()
}

fn tsize(t: u32) -> u32 {
    t << MAS1_TSIZE_SHIFT
}

#[test]
fn tlb1_entry_translates_with_permissions_and_36_bit_addresses() {
    let mut m = BookeMmu::new();
    // EA 0xC000_0000, 256 MiB, PA 0x1_2000_0000, supervisor RWX only.
    write(&mut m, 1, 3, MAS1_V | tsize(18), 0xc000_0000, 0x2000_0000 | 0x15, 1).unwrap();
    let t = m.translate(0xc123_4567, false, false, Access::Read).unwrap();
    assert_eq!(t.phys, 0x1_2123_4567);
    assert_eq!(t.page_size, 256 << 20);
    assert_eq!(t.prot, TlbFill::READ | TlbFill::WRITE | TlbFill::EXEC);
    assert_eq!(m.translate(0xc123_4567, false, true, Access::Read), Err(Fault::Protection), "no user access");
    assert_eq!(m.translate(0xc123_4567, true, false, Access::Read), Err(Fault::Miss), "TS must match");
    assert_eq!(m.translate(0xd000_0000, false, false, Access::Read), Err(Fault::Miss));
}

#[test]
fn tid_and_pid_matching() {
    let mut m = BookeMmu::new();
    write(&mut m, 0, 1, MAS1_V | (5 << 16) | tsize(2), 0x1000_3000, 0x0000_5000 | RWX_ALL, 0).unwrap();
    assert_eq!(m.translate(0x1000_3004, false, true, Access::Read), Err(Fault::Miss), "PID 0 does not match TID 5");
    m.pid[0] = 5;
    assert_eq!(m.translate(0x1000_3004, false, true, Access::Write).unwrap().phys, 0x5004);
    m.pid[0] = 0;
    m.pid[2] = 5;
    assert!(m.translate(0x1000_3004, false, true, Access::Execute).is_ok(), "non-zero PID2 also matches");
}

#[test]
fn tlb0_is_4k_only_without_iprot_and_indexed_by_epn() {
    let mut m = BookeMmu::new();
    write(&mut m, 0, 2, MAS1_V | MAS1_IPROT | tsize(10), 0x0004_5000, 0x0009_9000 | RWX_ALL, 0).unwrap();
    m.mas0 = 2 << 16;
    m.mas2 = 0x0004_5000;
    m.tlbre();
    assert_eq!(m.mas1 & MAS1_IPROT, 0, "TLB0 drops IPROT");
    assert_eq!(m.mas1 & MAS1_TSIZE_MASK, tsize(2), "TLB0 pages are 4 KiB");
    assert_eq!(m.mas3, 0x0009_9000 | RWX_ALL);
    // Another EPN selects another set: way 2 of that set is empty.
    m.mas2 = 0x0004_6000;
    m.tlbre();
    assert_eq!(m.mas1 & MAS1_V, 0);
    // TLB0 has 4 ways: ESEL 4 does not exist.
    assert_eq!(write(&mut m, 0, 4, MAS1_V | tsize(2), 0, 0, 0), Err(MmuError::Illegal));
    assert_eq!(write(&mut m, 1, 64, MAS1_V | tsize(2), 0, 0, 0), Err(MmuError::Illegal));
    assert_eq!(write(&mut m, 1, 0, MAS1_V | tsize(3), 0, 0, 0), Err(MmuError::Illegal), "odd TSIZE on TLB1");
    assert!(write(&mut m, 1, 0, tsize(3), 0, 0, 0).is_ok(), "invalid entries are not size-checked");
}

#[test]
fn tlbsx_fills_mas_on_hit_and_defaults_on_miss() {
    let mut m = BookeMmu::new();
    write(&mut m, 1, 7, MAS1_V | MAS1_IPROT | (3 << 16) | MAS1_TS | tsize(16), 0x0400_0000 | 0x4, 0x0800_0000 | RWX_ALL, 0).unwrap();
    m.mas6 = (3 << 16) | MAS6_SAS;
    m.tlbsx(0x0412_3456);
    assert_eq!(m.mas0 >> 28, 1);
    assert_eq!((m.mas0 >> 16) & 0xfff, 7);
    assert_eq!(m.mas1, MAS1_V | MAS1_IPROT | (3 << 16) | MAS1_TS | tsize(16));
    assert_eq!(m.mas2, 0x0400_0004);
    assert_eq!(m.mas3, 0x0800_0000 | RWX_ALL);
    // Miss: MAS4 defaults, V clear, TID from SPID, TS from SAS, round-robin victim.
    m.mas4 = (1 << 28) | tsize(2) | 0x04;
    m.mas6 = 9 << 16;
    m.tlbsx(0x5000_0000);
    assert_eq!(m.mas1 & MAS1_V, 0);
    assert_eq!(m.mas1, tsize(2) | (9 << 16));
    assert_eq!(m.mas0, (1 << 28) | 1, "ESEL = victim 0, NV = 1");
    assert_eq!(m.mas2, 0x04);
    m.tlbsx(0x5000_0000);
    assert_eq!(m.mas0, (1 << 28) | (1 << 16) | 2);
}

#[test]
fn invalidation_respects_iprot() {
    let mut m = BookeMmu::new();
    write(&mut m, 1, 0, MAS1_V | MAS1_IPROT | tsize(16), 0, RWX_ALL, 0).unwrap();
    write(&mut m, 1, 1, MAS1_V | tsize(16), 0x0400_0000, 0x0400_0000 | RWX_ALL, 0).unwrap();
    write(&mut m, 0, 0, MAS1_V | tsize(2), 0x1000_0000, 0x1000_0000 | RWX_ALL, 0).unwrap();
    assert_eq!(m.tlbivax(0xc), TlbEffect::All, "invalidate all of TLB1");
    assert!(m.translate(0x10, false, false, Access::Read).is_ok(), "IPROT entry survives");
    assert!(m.translate(0x0400_0010, false, false, Access::Read).is_err());
    assert!(m.translate(0x1000_0010, false, false, Access::Read).is_ok(), "TLB0 untouched");
    assert_eq!(m.tlbivax(0x1000_0000), TlbEffect::Pages(vec![0x1000_0000]));
    assert!(m.translate(0x1000_0010, false, false, Access::Read).is_err());
    assert_eq!(m.tlbilx(0, 0), TlbEffect::None, "only the IPROT entry is left");
    assert_eq!(m.write_mmucsr0(0x6), TlbEffect::None);
    assert!(m.translate(0x10, false, false, Access::Read).is_ok());
    assert_eq!(m.read_spr(1012), 0, "MMUCSR0 reads back 0");
    // tlbilx T=1 by TID, T=3 by TID and EA.
    write(&mut m, 0, 0, MAS1_V | (4 << 16) | tsize(2), 0x2000_0000, RWX_ALL, 0).unwrap();
    write(&mut m, 0, 1, MAS1_V | (5 << 16) | tsize(2), 0x2000_0000, RWX_ALL, 0).unwrap();
    m.pid[0] = 4;
    m.mas6 = 4 << 16;
    assert_eq!(m.tlbilx(1, 0), TlbEffect::Pages(vec![0x2000_0000]));
    m.pid[0] = 5;
    assert!(m.translate(0x2000_0000, false, false, Access::Read).is_ok());
    m.mas6 = 5 << 16;
    assert_eq!(m.tlbilx(3, 0x2000_0123), TlbEffect::Pages(vec![0x2000_0000]));
    assert!(m.translate(0x2000_0000, false, false, Access::Read).is_err());
    // Dropping a whole address space (more pages than are worth naming) stays local.
    for i in 0..20u32 {
        write(&mut m, 0, 0, MAS1_V | (6 << 16) | tsize(2), 0x3000_0000 + (i << 12), RWX_ALL, 0).unwrap();
    }
    m.mas6 = 6 << 16;
    m.pid[0] = 6;
    assert_eq!(m.tlbilx(1, 0), TlbEffect::Local);
    m.mas6 = 0;
    write(&mut m, 0, 0, MAS1_V | tsize(2), 0x3000_0000, RWX_ALL, 0).unwrap();
    write(&mut m, 1, 2, MAS1_V | tsize(16), 0x0800_0000, 0x0800_0000 | RWX_ALL, 0).unwrap();
    assert_eq!(m.tlbilx(1, 0), TlbEffect::All, "TID 0 entries are global");
}

#[test]
fn tlb_miss_preload_matches_qemu() {
    let mut m = BookeMmu::new();
    m.mas4 = tsize(2) | 0x04; // TSIZED 4 KiB, M default (Linux writes MAS4 = TSIZED 4K)
    m.pid[0] = 0x2a;
    m.tlb_miss_preload(0x1234_5678, true, true);
    assert_eq!(m.mas0, 1, "TLBSELD 0, ESEL = victim 0, NV 1");
    assert_eq!(m.mas1, MAS1_V | (0x2a << 16) | MAS1_TS | tsize(2));
    assert_eq!(m.mas2, 0x1234_5000 | 0x04);
    assert_eq!((m.mas3, m.mas7), (0, 0));
    assert_eq!(m.mas6, (0x2a << 16) | MAS6_SAS);
}

#[test]
fn linux_head_85xx_boot_sequence() {
    // QEMU's initial mapping: TLB1[0] EA 0 -> PA 0, 64 MiB, no IPROT.
    let mut m = BookeMmu::new();
    write(&mut m, 1, 0, MAS1_V | tsize(16), 0, RWX_ALL, 0).unwrap();
    // get_phys_addr / entry mapping: tlbsx on the PC with MAS6 = PID | MSR[IS].
    m.mas6 = 0;
    m.tlbsx(0x100);
    assert_ne!(m.mas1 & MAS1_V, 0, "tlbsx must hit the boot mapping");
    let esel = (m.mas0 >> 16) & 0xfff;
    assert_eq!(esel, 0);
    // Set IPROT on it and write it back.
    m.mas1 |= MAS1_IPROT;
    m.tlbwe().unwrap();
    // Invalidate every other TLB1 entry, then tlbivax 0x4 (TLB0) and 0xC (TLB1 sans IPROT).
    for i in 0..64 {
        if i == esel {
            continue;
        }
        m.mas0 = (1 << 28) | (i << 16);
        m.tlbre();
        m.mas1 &= !(MAS1_V | MAS1_IPROT);
        m.tlbwe().unwrap();
    }
    m.tlbivax(0x4);
    m.tlbivax(0xc);
    assert!(m.translate(0x100, false, false, Access::Execute).is_ok(), "the IPROT entry survives");
    // Temporary 4 KiB AS1 mapping of the code, then rfi to AS1.
    write(&mut m, 1, 1, MAS1_V | MAS1_TS | tsize(2), 0, RWX_ALL, 0).unwrap();
    assert!(m.translate(0x100, true, false, Access::Execute).is_ok());
    // Clear IPROT on the original entry and invalidate it.
    m.mas0 = 1 << 28;
    m.tlbre();
    m.mas1 &= !MAS1_IPROT;
    m.tlbwe().unwrap();
    m.tlbivax(0xc);
    assert!(m.translate(0x100, false, false, Access::Execute).is_err());
    // TLB1[0]: KERNELBASE 0xC000_0000 -> PA 0, 64 MiB, V | IPROT, M.
    write(&mut m, 1, 0, MAS1_V | MAS1_IPROT | tsize(16), 0xc000_0000 | 0x4, RWX_ALL, 0).unwrap();
    let t = m.translate(0xc000_1234, false, false, Access::Execute).unwrap();
    assert_eq!((t.phys, t.wimge), (0x1234, 0x4));
    // Remove the temporary entry.
    write(&mut m, 1, 1, 0, 0, 0, 0).unwrap();
    assert!(m.translate(0x100, true, false, Access::Execute).is_err());
    assert!(m.info_tlb().contains("0xc0000000"));
}

#[test]
fn tlbwe_reports_stale_translations() {
    let mut m = BookeMmu::new();
    assert_eq!(write(&mut m, 0, 0, MAS1_V | tsize(2), 0x3000, RWX_ALL, 0), Ok(TlbEffect::Pages(vec![0x3000])));
    // Replacing it in the same slot stales the old page too.
    assert_eq!(write(&mut m, 0, 0, MAS1_V | tsize(2), 0x3000, 0x7000 | RWX_ALL, 0), Ok(TlbEffect::Pages(vec![0x3000, 0x3000])));
    assert_eq!(write(&mut m, 1, 0, MAS1_V | tsize(16), 0, RWX_ALL, 0), Ok(TlbEffect::All));
}

#[test]
fn changes_to_entries_of_other_address_spaces_stale_nothing() {
    // Cached translations are made under the current PIDs and the last user PID only: another
    // process's entries can be written, replaced and invalidated without flushing anything.
    let mut m = BookeMmu::new();
    (m.pid[0], m.user_pid) = (7, 7);
    assert_eq!(write(&mut m, 0, 0, MAS1_V | (9 << 16) | tsize(2), 0x4000, RWX_ALL, 0), Ok(TlbEffect::None));
    assert_eq!(write(&mut m, 0, 0, MAS1_V | (9 << 16) | tsize(2), 0x4000, 0x8000 | RWX_ALL, 0), Ok(TlbEffect::None));
    m.mas6 = 9 << 16;
    assert_eq!(m.tlbilx(1, 0), TlbEffect::None);
    assert!(m.tlb0.iter().flatten().all(|e| !e.valid()), "the entry is gone all the same");
    // The current process's entries, global ones, and the last user PID's while the kernel
    // runs with PID 0, do stale translations.
    assert_eq!(write(&mut m, 0, 0, MAS1_V | (7 << 16) | tsize(2), 0x4000, RWX_ALL, 0), Ok(TlbEffect::Pages(vec![0x4000])));
    m.pid[0] = 0;
    m.mas6 = 7 << 16;
    assert_eq!(m.tlbilx(3, 0x4123), TlbEffect::Pages(vec![0x4000]));
    assert_eq!(write(&mut m, 0, 1, MAS1_V | tsize(2), 0x6000, RWX_ALL, 0), Ok(TlbEffect::Pages(vec![0x6000])));
    m.pid[2] = 9;
    assert_eq!(write(&mut m, 0, 0, MAS1_V | (9 << 16) | tsize(2), 0x4000, RWX_ALL, 0), Ok(TlbEffect::Pages(vec![0x4000])), "PID2");
}
