//! The e500mc as gdb sees it: the register list, its target description (so gdb needs no
//! `set architecture`), and reading and writing each register of a [`PpcCpu`].
//!
//! Register numbers follow gdb's PowerPC layout: r0-r31 (0-31), f0-f31 (32-63), pc, msr, cr,
//! lr, ctr, xer (64-69), fpscr (70); the supervisor registers kernel debugging needs follow as
//! the extra feature `org.ferrite.e500mc.spr` (71 on). The `g` packet is that order.

use ferrite_ppc::cpu::PpcCpu;
use gdbstub::arch::{Arch, RegId, Registers};
use std::num::NonZeroUsize;
use std::sync::OnceLock;

/// Where a register lives in the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Gpr(usize),
    Fpr(usize),
    Pc,
    Msr,
    Cr,
    Lr,
    Ctr,
    Xer,
    Fpscr,
    /// SRR0, SRR1, CSRR0, CSRR1, DSRR0, DSRR1, MCSRR0, MCSRR1.
    Srr(usize),
    Sprg(usize),
    Dear,
    Esr,
    /// A state SPR read and written through mfspr/mtspr semantics.
    Spr(u32),
    /// The timebase, lower (false) or upper (true) half: read through TBL/TBU, written
    /// through their write numbers.
    Timebase(bool),
}

/// The features of the target description.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Feature {
    Core,
    Fpu,
    Spr,
}

struct RegDef {
    name: String,
    loc: Loc,
    feature: Feature,
}

impl RegDef {
    fn bits(&self) -> usize {
        if matches!(self.loc, Loc::Fpr(_)) {
            64
        } else {
            32
        }
    }
}

/// The extra supervisor registers: name and location.
const SPRS: &[(&str, Loc)] = &[
    ("srr0", Loc::Srr(0)),
    ("srr1", Loc::Srr(1)),
    ("csrr0", Loc::Srr(2)),
    ("csrr1", Loc::Srr(3)),
    ("dsrr0", Loc::Srr(4)),
    ("dsrr1", Loc::Srr(5)),
    ("mcsrr0", Loc::Srr(6)),
    ("mcsrr1", Loc::Srr(7)),
    ("dear", Loc::Dear),
    ("esr", Loc::Esr),
    ("pid", Loc::Spr(48)),
    ("mas0", Loc::Spr(624)),
    ("mas1", Loc::Spr(625)),
    ("mas2", Loc::Spr(626)),
    ("mas3", Loc::Spr(627)),
    ("mas4", Loc::Spr(628)),
    ("mas6", Loc::Spr(630)),
    ("mas7", Loc::Spr(944)),
    ("sprg0", Loc::Sprg(0)),
    ("sprg1", Loc::Sprg(1)),
    ("sprg2", Loc::Sprg(2)),
    ("sprg3", Loc::Sprg(3)),
    ("sprg4", Loc::Sprg(4)),
    ("sprg5", Loc::Sprg(5)),
    ("sprg6", Loc::Sprg(6)),
    ("sprg7", Loc::Sprg(7)),
    ("ivpr", Loc::Spr(63)),
    ("dec", Loc::Spr(22)),
    ("tcr", Loc::Spr(340)),
    ("tsr", Loc::Spr(336)),
    ("dbcr0", Loc::Spr(308)),
    ("dbsr", Loc::Spr(304)),
    ("tbl", Loc::Timebase(false)),
    ("tbu", Loc::Timebase(true)),
    ("pir", Loc::Spr(286)),
    ("pvr", Loc::Spr(287)),
];

fn regs() -> &'static [RegDef] {
    static REGS: OnceLock<Vec<RegDef>> = OnceLock::new();
    REGS.get_or_init(|| {
        let mut v: Vec<RegDef> = (0..32).map(|i| RegDef { name: format!("r{i}"), loc: Loc::Gpr(i), feature: Feature::Core }).collect();
        v.extend((0..32).map(|i| RegDef { name: format!("f{i}"), loc: Loc::Fpr(i), feature: Feature::Fpu }));
        for (name, loc) in [("pc", Loc::Pc), ("msr", Loc::Msr), ("cr", Loc::Cr), ("lr", Loc::Lr), ("ctr", Loc::Ctr), ("xer", Loc::Xer)] {
            v.push(RegDef { name: name.into(), loc, feature: Feature::Core });
        }
        v.push(RegDef { name: "fpscr".into(), loc: Loc::Fpscr, feature: Feature::Fpu });
        v.extend(SPRS.iter().map(|(n, loc)| RegDef { name: (*n).into(), loc: *loc, feature: Feature::Spr }));
        v
    })
}

/// Number of registers gdb knows.
pub fn register_count() -> usize {
    regs().len()
}

/// The register named `name` (monitor commands), as a gdb register number.
pub fn register_number(name: &str) -> Option<usize> {
    regs().iter().position(|r| r.name == name)
}

/// The target description XML.
fn target_xml() -> &'static str {
    static XML: OnceLock<String> = OnceLock::new();
    XML.get_or_init(|| {
        let mut x = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n<architecture>powerpc:common</architecture>\n");
        for (feature, name) in [(Feature::Core, "org.gnu.gdb.power.core"), (Feature::Fpu, "org.gnu.gdb.power.fpu"), (Feature::Spr, "org.ferrite.e500mc.spr")] {
            x += &format!("<feature name=\"{name}\">\n");
            for (n, r) in regs().iter().enumerate().filter(|(_, r)| r.feature == feature) {
                let ty = match r.loc {
                    Loc::Fpr(_) => "ieee_double",
                    Loc::Pc | Loc::Lr => "code_ptr",
                    _ => "uint32",
                };
                let group = match r.feature {
                    Feature::Core => "general",
                    Feature::Fpu => "float",
                    Feature::Spr => "system",
                };
                x += &format!("  <reg name=\"{}\" bitsize=\"{}\" type=\"{ty}\" regnum=\"{n}\" group=\"{group}\"/>\n", r.name, r.bits());
            }
            x += "</feature>\n";
        }
        x += "</target>\n";
        x
    })
}

/// Reads register `n` of `cpu`.
pub fn read(cpu: &mut PpcCpu, n: usize) -> Option<u64> {
    let r = &cpu.regs;
    Some(match regs().get(n)?.loc {
        Loc::Gpr(i) => r.gpr[i] as u64,
        Loc::Fpr(i) => r.fpr[i],
        Loc::Pc => cpu.pc() as u64,
        Loc::Msr => r.msr as u64,
        Loc::Cr => r.cr() as u64,
        Loc::Lr => r.lr as u64,
        Loc::Ctr => r.ctr as u64,
        Loc::Xer => r.xer() as u64,
        Loc::Fpscr => r.fpscr as u64,
        Loc::Srr(i) => r.srr[i] as u64,
        Loc::Sprg(i) => r.sprg[i] as u64,
        Loc::Dear => r.dear as u64,
        Loc::Esr => r.esr as u64,
        Loc::Spr(num) => cpu.read_spr(num) as u64,
        Loc::Timebase(upper) => cpu.read_spr(if upper { 269 } else { 268 }) as u64,
    })
}

/// Writes register `n` of `cpu`; false if there is no such register.
pub fn write(cpu: &mut PpcCpu, n: usize, v: u64) -> bool {
    let Some(def) = regs().get(n) else { return false };
    let w = v as u32;
    let r = &mut cpu.regs;
    match def.loc {
        Loc::Gpr(i) => r.gpr[i] = w,
        Loc::Fpr(i) => r.fpr[i] = v,
        Loc::Pc => cpu.set_pc(w),
        Loc::Msr => cpu.set_msr(w),
        Loc::Cr => r.set_cr(w),
        Loc::Lr => r.lr = w,
        Loc::Ctr => r.ctr = w,
        Loc::Xer => r.set_xer(w),
        Loc::Fpscr => r.fpscr = w,
        Loc::Srr(i) => r.srr[i] = w,
        Loc::Sprg(i) => r.sprg[i] = w,
        Loc::Dear => r.dear = w,
        Loc::Esr => r.esr = w,
        Loc::Spr(num) => cpu.write_spr(num, w),
        Loc::Timebase(upper) => cpu.write_spr(if upper { 285 } else { 284 }, w),
    }
    true
}

/// gdbstub's view of the e500mc.
pub enum E500mc {}

impl Arch for E500mc {
    type Usize = u32;
    type Registers = E500mcRegs;
    type BreakpointKind = usize;
    type RegId = E500mcRegId;

    fn target_description_xml() -> Option<&'static str> {
        Some(target_xml())
    }
}

/// Every register's value, in gdb's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct E500mcRegs {
    /// Values by register number (FPRs as raw 64-bit patterns).
    pub values: Vec<u64>,
}

impl E500mcRegs {
    /// Reads all registers of `cpu`.
    pub fn read_from(cpu: &mut PpcCpu) -> E500mcRegs {
        E500mcRegs { values: (0..register_count()).map(|n| read(cpu, n).unwrap_or(0)).collect() }
    }

    /// Writes all registers to `cpu`, only those that changed (SPR writes have side effects).
    pub fn write_to(&self, cpu: &mut PpcCpu) {
        for (n, v) in self.values.iter().enumerate() {
            if read(cpu, n) != Some(*v) {
                write(cpu, n, *v);
            }
        }
    }
}

impl Registers for E500mcRegs {
    type ProgramCounter = u32;

    fn pc(&self) -> u32 {
        regs().iter().position(|r| r.loc == Loc::Pc).and_then(|i| self.values.get(i)).copied().unwrap_or(0) as u32
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        for (def, v) in regs().iter().zip(self.values.iter().copied().chain(std::iter::repeat(0))) {
            let bytes = def.bits() / 8;
            for b in v.to_be_bytes()[8 - bytes..].iter() {
                write_byte(Some(*b));
            }
        }
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        let mut values = Vec::with_capacity(register_count());
        let mut off = 0;
        for def in regs() {
            let n = def.bits() / 8;
            let Some(chunk) = bytes.get(off..off + n) else { break };
            values.push(chunk.iter().fold(0u64, |a, b| (a << 8) | *b as u64));
            off += n;
        }
        if off != bytes.len() || values.len() < register_count() {
            // gdb sends the whole set; anything else is malformed.
            return Err(());
        }
        self.values = values;
        Ok(())
    }
}

/// A register number and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct E500mcRegId(pub usize);

impl RegId for E500mcRegId {
    fn from_raw_id(id: usize) -> Option<(Self, Option<NonZeroUsize>)> {
        let def = regs().get(id)?;
        Some((E500mcRegId(id), NonZeroUsize::new(def.bits() / 8)))
    }
}

/// Size in bytes of register `n`.
pub fn register_size(n: usize) -> Option<usize> {
    regs().get(n).map(|d| d.bits() / 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_gdbs_powerpc_order() {
        assert_eq!(register_number("r0"), Some(0));
        assert_eq!(register_number("f0"), Some(32));
        assert_eq!(register_number("pc"), Some(64));
        assert_eq!(register_number("xer"), Some(69));
        assert_eq!(register_number("fpscr"), Some(70));
        assert_eq!(register_number("srr0"), Some(71));
        let xml = target_xml();
        assert!(xml.contains("<reg name=\"pc\" bitsize=\"32\" type=\"code_ptr\" regnum=\"64\""));
        assert!(xml.contains("<reg name=\"f31\" bitsize=\"64\" type=\"ieee_double\" regnum=\"63\""));
        assert!(xml.contains("org.gnu.gdb.power.fpu") && xml.contains("name=\"mas7\""));
    }

    #[test]
    fn registers_round_trip_through_the_g_packet() {
        let mut r = E500mcRegs { values: (0..register_count() as u64).map(|i| i * 0x0101_0101).collect() };
        r.values[40] = 0x4009_21fb_5444_2d18;
        let mut bytes = Vec::new();
        r.gdb_serialize(|b| bytes.push(b.unwrap()));
        assert_eq!(bytes.len(), 32 * 4 + 32 * 8 + 7 * 4 + SPRS.len() * 4);
        assert_eq!(&bytes[4..8], &[1, 1, 1, 1]);
        let mut back = E500mcRegs::default();
        back.gdb_deserialize(&bytes).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.pc(), (64 * 0x0101_0101) as u32);
        assert!(back.gdb_deserialize(&bytes[..bytes.len() - 1]).is_err(), "truncated");
    }
}
