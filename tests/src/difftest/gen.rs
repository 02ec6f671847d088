//! The random case generator: initial state, scratch memory and an instruction sequence over
//! the whole user-level ISA, plus the prologue and epilogue that load and store the state.
//!
//! Memory instructions use a base register B (pointing into the scratch memory) and an index
//! register X (a small offset); B and X are picked per case and never overwritten by
//! non-memory instructions, so every register is a destination in some cases.

use super::encode::enc;
use super::rng::Rng;
use super::state::{UserState, BLOCK, CODE_BASE, IN_OFF, MEM_SIZE, OUT_OFF, SAVE_OFF, SCRATCH};

/// Which QEMU CPU model checks a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `-cpu e500mc`: everything but the string instructions.
    E500mc,
    /// `-cpu 750`: QEMU's e500mc model lacks the string (move assist) instructions that the
    /// e500mc has, so cases that use them are checked against the 750 model, with only
    /// instructions both models treat alike (no isel, no e500 or privileged instructions, no
    /// dcbz: its block size differs).
    Classic,
}

impl Profile {
    /// The QEMU `-cpu` name.
    pub fn qemu_cpu(self) -> &'static str {
        match self {
            Profile::E500mc => "e500mc",
            Profile::Classic => "750",
        }
    }
}

/// One generated case.
#[derive(Clone, Debug)]
pub struct Case {
    /// The seed it was generated from.
    pub seed: u64,
    /// The QEMU model it is checked against.
    pub profile: Profile,
    /// The instruction sequence under test.
    pub body: Vec<u32>,
    /// Initial registers.
    pub init: UserState,
    /// Initial scratch memory.
    pub mem: Vec<u8>,
}

/// Base of the scratch area the base register points to.
const BASE: u32 = SCRATCH + 0x200;

/// Words of the prologue (the test body starts after them).
pub fn prologue() -> Vec<u32> {
    let mut p = Vec::new();
    let abs = |off: u32| (BLOCK + off) as i64;
    // Save the caller's r1, r2, r13-r31 and LR.
    p.push(enc("STW", &[("rt", 1), ("ra", 0), ("d", abs(SAVE_OFF))]));
    p.push(enc("STW", &[("rt", 2), ("ra", 0), ("d", abs(SAVE_OFF + 4))]));
    for r in 13..32 {
        p.push(enc("STW", &[("rt", r), ("ra", 0), ("d", abs(SAVE_OFF + 4 * (r as u32 - 11)))]));
    }
    p.push(enc("MFSPR", &[("rt", 0), ("spr", 8)]));
    p.push(enc("STW", &[("rt", 0), ("ra", 0), ("d", abs(SAVE_OFF + 0x60))]));
    // FPSCR first (through f0), then the FPRs, CR, XER, LR, CTR and the GPRs (r0 last).
    p.push(enc("LFD", &[("rt", 0), ("ra", 0), ("d", abs(IN_OFF + 0x190))]));
    p.push(enc("MTFSF", &[("l", 0), ("flm", 0xff), ("w", 0), ("frb", 0), ("rc", 0)]));
    for f in 0..32 {
        p.push(enc("LFD", &[("rt", f), ("ra", 0), ("d", abs(IN_OFF + 0x80 + 8 * f as u32))]));
    }
    p.push(enc("LWZ", &[("rt", 0), ("ra", 0), ("d", abs(IN_OFF + 0x180))]));
    p.push(enc("MTCRF", &[("rs", 0), ("one", 0), ("fxm", 0xff)]));
    for (off, spr) in [(0x184, 1), (0x188, 8), (0x18c, 9)] {
        p.push(enc("LWZ", &[("rt", 0), ("ra", 0), ("d", abs(IN_OFF + off))]));
        p.push(enc("MTSPR", &[("rt", 0), ("spr", spr)]));
    }
    for r in (0..32).rev() {
        p.push(enc("LWZ", &[("rt", r), ("ra", 0), ("d", abs(IN_OFF + 4 * r as u32))]));
    }
    p
}

/// Words of the epilogue: store the state, restore the caller's registers, return.
pub fn epilogue() -> Vec<u32> {
    let mut p = Vec::new();
    let abs = |off: u32| (BLOCK + off) as i64;
    for r in 0..32 {
        p.push(enc("STW", &[("rt", r), ("ra", 0), ("d", abs(OUT_OFF + 4 * r as u32))]));
    }
    p.push(enc("MFCR", &[("rs", 0), ("one", 0), ("fxm", 0)]));
    p.push(enc("STW", &[("rt", 0), ("ra", 0), ("d", abs(OUT_OFF + 0x180))]));
    for (off, spr) in [(0x184, 1), (0x188, 8), (0x18c, 9)] {
        p.push(enc("MFSPR", &[("rt", 0), ("spr", spr)]));
        p.push(enc("STW", &[("rt", 0), ("ra", 0), ("d", abs(OUT_OFF + off))]));
    }
    for f in 0..32 {
        p.push(enc("STFD", &[("rt", f), ("ra", 0), ("d", abs(OUT_OFF + 0x80 + 8 * f as u32))]));
    }
    p.push(enc("MFFS", &[("frt", 0), ("rc", 0)]));
    p.push(enc("STFD", &[("rt", 0), ("ra", 0), ("d", abs(OUT_OFF + 0x190))]));
    p.push(enc("LWZ", &[("rt", 1), ("ra", 0), ("d", abs(SAVE_OFF))]));
    p.push(enc("LWZ", &[("rt", 2), ("ra", 0), ("d", abs(SAVE_OFF + 4))]));
    for r in 13..32 {
        p.push(enc("LWZ", &[("rt", r), ("ra", 0), ("d", abs(SAVE_OFF + 4 * (r as u32 - 11)))]));
    }
    p.push(enc("LWZ", &[("rt", 0), ("ra", 0), ("d", abs(SAVE_OFF + 0x60))]));
    p.push(enc("MTSPR", &[("rt", 0), ("spr", 8)]));
    p.push(enc("BCLR", &[("bo", 20), ("bi", 0), ("lk", 0)]));
    p
}

/// Address of the first body instruction.
pub fn body_start() -> u32 {
    CODE_BASE + 4 * prologue().len() as u32
}

impl Case {
    /// The complete code: prologue, body, epilogue.
    pub fn code(&self) -> Vec<u32> {
        let mut c = prologue();
        c.extend(&self.body);
        c.extend(epilogue());
        c
    }

    /// Generates the case for `seed`.
    pub fn generate(seed: u64) -> Case {
        let mut g = Gen::new(seed);
        g.case()
    }
}

struct Gen {
    r: Rng,
    base: u32,
    index: u32,
    body: Vec<u32>,
    classic: bool,
}

/// How many of [`Gen::instruction`]'s choices are register-only (see [`Gen::register_op`]).
const REGISTER_OPS: u64 = 40;
const XO: &[&str] = &["ADD", "ADDC", "ADDE", "SUBF", "SUBFC", "SUBFE", "MULLW", "DIVW", "DIVWU"];
const XO_A: &[&str] = &["ADDME", "ADDZE", "SUBFME", "SUBFZE", "NEG"];
const XO_NOE: &[&str] = &["MULHW", "MULHWU"];
const DIMM: &[&str] = &["ADDI", "ADDIS", "ADDIC", "ADDIC_", "SUBFIC", "MULLI"];
const LOGX: &[&str] = &["AND", "ANDC", "OR", "ORC", "XOR", "NAND", "NOR", "EQV", "SLW", "SRW", "SRAW", "SRAWI"];
const LOGX_A: &[&str] = &["EXTSB", "EXTSH", "CNTLZW"];
const LOGD: &[&str] = &["ANDI_", "ANDIS_", "ORI", "ORIS", "XORI", "XORIS"];
const ROT: &[&str] = &["RLWINM", "RLWNM", "RLWIMI"];
const CRL: &[&str] = &["CRAND", "CRNAND", "CROR", "CRXOR", "CRNOR", "CREQV", "CRANDC", "CRORC"];
const LOADS_D: &[(&str, u32)] = &[("LBZ", 1), ("LHZ", 2), ("LHA", 2), ("LWZ", 4), ("LBZU", 1), ("LHZU", 2), ("LHAU", 2), ("LWZU", 4)];
const STORES_D: &[(&str, u32)] = &[("STB", 1), ("STH", 2), ("STW", 4), ("STBU", 1), ("STHU", 2), ("STWU", 4)];
const LOADS_X: &[&str] = &["LBZX", "LHZX", "LHAX", "LWZX", "LBZUX", "LHZUX", "LHAUX", "LWZUX", "LHBRX", "LWBRX"];
const STORES_X: &[&str] = &["STBX", "STHX", "STWX", "STBUX", "STHUX", "STWUX", "STHBRX", "STWBRX"];
const CACHE: &[&str] = &["DCBZ", "DCBF", "DCBST", "DCBT", "DCBTST", "ICBI", "DCBA"];
const FA: &[&str] = &["FADD", "FSUB", "FDIV", "FADDS", "FSUBS", "FDIVS"];
const FM: &[&str] = &["FMUL", "FMULS"];
const FMA: &[&str] = &["FMADD", "FMSUB", "FNMADD", "FNMSUB", "FMADDS", "FMSUBS", "FNMADDS", "FNMSUBS", "FSEL"];
const FB: &[&str] = &["FRES", "FRSQRTE"];
const FX: &[&str] = &["FMR", "FNEG", "FABS", "FNABS", "FRSP", "FCTIW", "FCTIWZ"];
const FLOADS: &[&str] = &["LFS", "LFD", "LFSU", "LFDU"];
const FSTORES: &[&str] = &["STFS", "STFD", "STFSU", "STFDU"];
const FLOADS_X: &[&str] = &["LFSX", "LFDX", "LFSUX", "LFDUX"];
const FSTORES_X: &[&str] = &["STFSX", "STFDX", "STFSUX", "STFDUX", "STFIWX"];
/// Privileged instructions (user mode: a privileged-instruction program interrupt). `wait` is
/// not among them (it is a user instruction) and is never generated: qemu-ppc aborts on it
/// ("Unknown exception 0x10001"), and in user mode it would only idle until an interrupt.
const PRIVILEGED: &[&str] = &[
    "MFMSR", "MTMSR", "WRTEE", "WRTEEI", "RFI", "RFCI", "RFDI", "RFMCI", "TLBWE", "TLBRE", "TLBSYNC", "DCBI", "TLBIVAX", "TLBSX",
    "TLBILX", "MSGSND", "MSGCLR",
];
// Not generated: the cache-locking instructions (dcbtls, dcbtstls, dcblc, icbtls, icblc).
// The e500mc has them; qemu-ppc 7.2 does not (illegal instruction), so there is nothing to
// compare with. ferrite runs them as no-ops in supervisor mode.

impl Gen {
    fn new(seed: u64) -> Gen {
        let mut r = Rng::new(seed);
        let base = 3 + r.below(29) as u32;
        let mut index = 3 + r.below(29) as u32;
        if index == base {
            index = if base == 31 { 3 } else { base + 1 };
        }
        let classic = r.chance(15);
        Gen { r, base, index, body: Vec::new(), classic }
    }

    /// A destination GPR that is neither the base nor the index register.
    fn dst(&mut self) -> i64 {
        loop {
            let d = self.r.below(32) as u32;
            if d != self.base && d != self.index {
                return d as i64;
            }
        }
    }

    fn reg(&mut self) -> i64 {
        self.r.below(32) as i64
    }

    fn emit(&mut self, w: u32) {
        self.body.push(w);
    }

    fn case(&mut self) -> Case {
        let mut init = UserState::default();
        for i in 0..32 {
            init.gpr[i] = self.r.word();
            init.fpr[i] = self.r.double();
        }
        init.gpr[self.base as usize] = BASE;
        init.gpr[self.index as usize] = self.r.below(0x80) as u32 & !self.r.pick(&[0u32, 3, 7]);
        init.cr = self.r.next() as u32;
        init.xer = (self.r.next() as u32 & 0xe000_0000) | self.r.below(33) as u32;
        init.lr = self.r.word();
        init.ctr = self.r.word();
        init.fpscr = self.fpscr();
        let mut mem = vec![0u8; MEM_SIZE];
        for chunk in mem.chunks_mut(8) {
            let v = if self.r.chance(50) { self.r.double() } else { self.r.next() };
            chunk.copy_from_slice(&v.to_be_bytes()[..chunk.len()]);
        }
        let n = 4 + self.r.below(28);
        while (self.body.len() as u64) < n {
            self.instruction();
        }
        let profile = if self.classic { Profile::Classic } else { Profile::E500mc };
        Case { seed: 0, profile, body: std::mem::take(&mut self.body), init, mem }
    }

    /// A starting FPSCR: any status, any rounding mode, sometimes enables (never with their
    /// exception already pending, which would trap in the prologue).
    fn fpscr(&mut self) -> u32 {
        use ferrite_ppc::fpu::fpscr::*;
        let mut v = self.r.next() as u32 & !(FEX | VX | RESERVED);
        if self.r.chance(75) {
            v &= !(VE | OE | UE | ZE | XE);
        }
        if self.r.chance(50) {
            v &= !(VX_ALL | OX | UX | ZX | XX | FX);
        }
        for (en, ex) in [(VE, VX_ALL), (OE, OX), (UE, UX), (ZE, ZX), (XE, XX)] {
            if v & en != 0 {
                v &= !ex;
            }
        }
        v
    }

    fn imm16(&mut self) -> i64 {
        (self.r.word() as u16 as i16) as i64
    }

    /// An offset from the base register that keeps `size` bytes inside the scratch memory.
    fn disp(&mut self, size: u32, update: bool) -> i64 {
        let span = if update { 0x40 } else { 0x1f0 };
        let d = self.r.below(2 * span) as i64 - span as i64;
        if self.r.chance(70) {
            d & !(size as i64 - 1)
        } else {
            d
        }
    }

    fn instruction(&mut self) {
        let (b, x) = (self.base as i64, self.index as i64);
        match self.r.below(100) {
            k @ 0..REGISTER_OPS => self.register_op(k),
            40..=45 => {
                let (n, size) = self.r.pick(LOADS_D);
                let update = n.ends_with('U');
                let d = self.disp(size, update);
                let w = enc(n, &[("rt", self.dst()), ("ra", b), ("d", d)]);
                self.emit(w);
            }
            46..=49 => {
                let (n, size) = self.r.pick(STORES_D);
                let update = n.ends_with('U');
                let d = self.disp(size, update);
                let w = enc(n, &[("rt", self.reg()), ("ra", b), ("d", d)]);
                self.emit(w);
            }
            50..=52 => {
                let n = self.r.pick(LOADS_X);
                let w = enc(n, &[("rt", self.dst()), ("ra", b), ("rb", x)]);
                self.emit(w);
            }
            53..=54 => {
                let n = self.r.pick(STORES_X);
                let w = enc(n, &[("rt", self.reg()), ("ra", b), ("rb", x)]);
                self.emit(w);
            }
            55 if self.classic => {
                for _ in 0..3 {
                    self.multiple_and_string();
                }
            }
            55 => self.multiple(),
            56 => self.reservation(),
            57 => {
                let n = self.r.pick(CACHE);
                if self.classic && matches!(n, "DCBZ" | "DCBA") {
                    return self.instruction_simple();
                }
                let ra = if self.r.chance(50) { 0 } else { b };
                let rb = if ra == 0 { b } else { x };
                let w = enc(n, &[("ra", ra), ("rb", rb)]);
                self.emit(w);
            }
            58 => {
                let w = match self.r.below(4) {
                    0 => enc("SYNC", &[("l", self.r.below(2) as i64)]),
                    1 => enc("ISYNC", &[]),
                    2 => enc("MBAR", &[("mo", 0)]),
                    _ => enc("SYNC", &[("l", 1)]),
                };
                self.emit(w);
            }
            59..=64 => self.branch(),
            65..=66 => {
                if self.r.chance(50) {
                    let w = enc("TW", &[("to", self.r.below(32) as i64), ("ra", self.reg()), ("rb", self.reg())]);
                    self.emit(w);
                } else {
                    let w = enc("TWI", &[("to", self.r.below(32) as i64), ("ra", self.reg()), ("si", self.imm16())]);
                    self.emit(w);
                }
            }
            67..=69 if self.classic => {
                let w = enc("MFSPR", &[("rt", self.dst()), ("spr", self.r.pick(&[1, 8, 9]))]);
                self.emit(w);
            }
            67..=69 => self.spr(),
            70..=89 => self.floating_point(),
            90..=94 => self.fp_memory(),
            95..=96 => self.fpscr_instruction(),
            97 if self.classic => self.instruction_simple(),
            97 => {
                let n = self.r.pick(PRIVILEGED);
                let w = enc(n, &[]) | if crate::difftest::encode::has_field(n, "rb") { (self.reg() as u32) << 11 } else { 0 };
                self.emit(w);
            }
            98 => {
                // A word no pattern decodes. Not every such word: qemu-ppc quietly accepts some
                // unassigned extended opcodes of primary opcode 31 (for instance XO 658 and 754
                // with Rc = 1, and the external-PID cache hints such as dcbtstep) and some of
                // primary opcode 4 (e.g. 0x111dbdc7), which the e500mc and ferrite reject, and it
                // aborts on VSX words (primary opcode 60: "Unknown exception 0x5e"), so words of
                // those opcodes are drawn from the valid ones only.
                loop {
                    let w = self.r.next() as u32;
                    if !matches!(w >> 26, 4 | 31 | 60) && ferrite_ppc::decode::mnemonic(w).is_none() {
                        self.emit(w);
                        break;
                    }
                }
            }
            _ if self.classic => self.instruction_simple(),
            _ => {
                let w = enc("MFTB", &[("rt", self.dst()), ("spr", 268)]);
                let t = (w >> 21) & 31;
                self.emit(w);
                // The timebase differs between runs: overwrite it.
                let w = enc("ADDI", &[("rt", t as i64), ("ra", 0), ("d", 0)]);
                self.emit(w);
            }
        }
    }

    fn compare(&mut self) {
        let bf = self.r.below(8) as i64;
        // L = 1 (64-bit compare) is illegal on e500mc; the classic CPU that runs the Classic
        // profile in qemu-ppc (-cpu 750) ignores it, so it is generated for e500mc cases only.
        let l = if self.r.chance(10) && !self.classic { 1 } else { 0 };
        let w = match self.r.below(4) {
            0 => enc("CMP", &[("bf", bf), ("l", l), ("ra", self.reg()), ("rb", self.reg())]),
            1 => enc("CMPL", &[("bf", bf), ("l", l), ("ra", self.reg()), ("rb", self.reg())]),
            2 => enc("CMPI", &[("bf", bf), ("l", l), ("ra", self.reg()), ("imm", self.imm16())]),
            _ => enc("CMPLI", &[("bf", bf), ("l", l), ("ra", self.reg()), ("uimm", self.r.word() as u16 as i64)]),
        };
        self.emit(w);
    }

    fn condition_register(&mut self) {
        let w = match self.r.below(6) {
            0 | 1 => {
                let n = self.r.pick(CRL);
                enc(n, &[("bt", self.r.below(32) as i64), ("ba", self.r.below(32) as i64), ("bb", self.r.below(32) as i64)])
            }
            2 => enc("MCRF", &[("bf", self.r.below(8) as i64), ("bfa", self.r.below(8) as i64)]),
            3 => {
                let one = self.r.below(2) as i64;
                let fxm = if one == 1 && self.r.chance(80) { 1 << self.r.below(8) } else { self.r.below(256) as i64 };
                enc("MTCRF", &[("rs", self.reg()), ("one", one), ("fxm", fxm)])
            }
            4 => {
                let one = self.r.below(2) as i64;
                let fxm = if one == 1 && self.r.chance(80) { 1 << self.r.below(8) } else { self.r.below(256) as i64 };
                enc("MFCR", &[("rs", self.dst()), ("one", one), ("fxm", fxm)])
            }
            _ => enc("MCRXR", &[("bf", self.r.below(8) as i64)]),
        };
        self.emit(w);
    }

    /// lmw / stmw (the e500mc profile has no string instructions; see [`Profile`]).
    fn multiple(&mut self) {
        let b = self.base as i64;
        let above = self.base.max(self.index) as i64 + 1;
        if self.r.chance(50) && above < 32 {
            let rt = above + self.r.below((32 - above) as u64) as i64;
            let w = enc("LMW", &[("rt", rt), ("ra", b), ("d", self.disp(4, true) & !3)]);
            self.emit(w);
        } else {
            let w = enc("STMW", &[("rt", self.reg()), ("ra", b), ("d", self.disp(4, true) & !3)]);
            self.emit(w);
        }
    }

    fn multiple_and_string(&mut self) {
        let (b, x) = (self.base as i64, self.index as i64);
        let above = self.base.max(self.index) as i64 + 1;
        match self.r.below(6) {
            0 if above < 32 => {
                let rt = above + self.r.below((32 - above) as u64) as i64;
                let w = enc("LMW", &[("rt", rt), ("ra", b), ("d", self.disp(4, true) & !3)]);
                self.emit(w);
            }
            1 => {
                let w = enc("STMW", &[("rt", self.reg()), ("ra", b), ("d", self.disp(4, true) & !3)]);
                self.emit(w);
            }
            2 if above < 32 => {
                // lswi: the loaded registers stay above B and X (no wrap-around onto them).
                let rt = above + self.r.below((32 - above) as u64) as i64;
                let max_bytes = (32 - rt) * 4;
                let nb = 1 + self.r.below(max_bytes.min(31) as u64) as i64;
                let w = enc("LSWI", &[("rt", rt), ("ra", b), ("nb", nb)]);
                self.emit(w);
            }
            3 => {
                let w = enc("STSWI", &[("rt", self.reg()), ("ra", b), ("nb", self.r.below(32) as i64)]);
                self.emit(w);
            }
            4 => {
                let w = enc("LSWX", &[("rt", self.reg()), ("ra", b), ("rb", x)]);
                self.emit(w);
            }
            _ => {
                let w = enc("STSWX", &[("rt", self.reg()), ("ra", b), ("rb", x)]);
                self.emit(w);
            }
        }
    }

    fn reservation(&mut self) {
        let (b, x) = (self.base as i64, self.index as i64);
        let t = self.dst();
        let (ra, rb) = if self.r.chance(80) { (0, b) } else { (b, x) };
        let w = enc("LWARX", &[("rt", t), ("ra", ra), ("rb", rb)]);
        self.emit(w);
        if self.r.chance(30) {
            self.instruction_simple();
        }
        let (ra, rb) = if self.r.chance(85) { (0, b) } else { (b, x) };
        let s = self.reg();
        let w = enc("STWCX_", &[("rt", s), ("ra", ra), ("rb", rb)]);
        self.emit(w);
    }

    /// Register-only instruction number `k` (below [`REGISTER_OPS`]) of [`Gen::instruction`]'s
    /// list: arithmetic, logic, rotates, compares, CR logic, isel.
    fn register_op(&mut self, k: u64) {
        match k {
            0..=9 => {
                let n = self.r.pick(XO);
                let w = enc(n, &[("rt", self.dst()), ("ra", self.reg()), ("rb", self.reg()), ("oe", self.r.below(2) as i64), ("rc", self.r.below(2) as i64)]);
                self.emit(w);
            }
            10..=12 => {
                let n = self.r.pick(XO_A);
                let w = enc(n, &[("rt", self.dst()), ("ra", self.reg()), ("oe", self.r.below(2) as i64), ("rc", self.r.below(2) as i64)]);
                self.emit(w);
            }
            13 => {
                let n = self.r.pick(XO_NOE);
                let w = enc(n, &[("rt", self.dst()), ("ra", self.reg()), ("rb", self.reg()), ("rc", self.r.below(2) as i64)]);
                self.emit(w);
            }
            14..=18 => {
                let n = self.r.pick(DIMM);
                let w = enc(n, &[("rt", self.dst()), ("ra", self.reg()), ("d", self.imm16())]);
                self.emit(w);
            }
            19..=24 => {
                let n = self.r.pick(LOGX);
                let w = enc(n, &[("rt", self.reg()), ("ra", self.dst()), ("rb", self.reg()), ("rc", self.r.below(2) as i64)]);
                self.emit(w);
            }
            25 => {
                let n = self.r.pick(LOGX_A);
                let w = enc(n, &[("rt", self.reg()), ("ra", self.dst()), ("rc", self.r.below(2) as i64)]);
                self.emit(w);
            }
            26..=28 => {
                let n = self.r.pick(LOGD);
                let w = enc(n, &[("rt", self.reg()), ("ra", self.dst()), ("ui", self.r.word() as u16 as i64)]);
                self.emit(w);
            }
            29..=32 => {
                let n = self.r.pick(ROT);
                let w = enc(
                    n,
                    &[("rs", self.reg()), ("ra", self.dst()), ("sh", self.reg()), ("mb", self.r.below(32) as i64), ("me", self.r.below(32) as i64), ("rc", self.r.below(2) as i64)],
                );
                self.emit(w);
            }
            33..=35 => self.compare(),
            36..=38 => self.condition_register(),
            39 if self.classic => self.instruction_simple(),
            39 => {
                let w = enc("ISEL", &[("rt", self.dst()), ("ra", self.reg()), ("rb", self.reg()), ("bc", self.r.below(32) as i64)]);
                self.emit(w);
            }
            _ => unreachable!("register op {k}"),
        }
    }

    /// A register-only instruction (inside templates).
    fn instruction_simple(&mut self) {
        let n = self.r.pick(XO);
        let w = enc(n, &[("rt", self.dst()), ("ra", self.reg()), ("rb", self.reg()), ("oe", self.r.below(2) as i64), ("rc", self.r.below(2) as i64)]);
        self.emit(w);
    }

    /// A random BO: the encodings that mean something (z bits 0, some with the hint bits).
    fn bo(&mut self) -> i64 {
        self.r.pick(&[0, 2, 4, 8, 10, 12, 16, 18, 20, 1, 5, 13, 7, 15, 24, 25])
    }

    fn branch(&mut self) {
        match self.r.below(6) {
            0 => {
                // Unconditional skip over one instruction.
                let w = enc("B", &[("li", 2), ("aa", 0), ("lk", self.r.below(2) as i64)]);
                self.emit(w);
                self.instruction_simple();
            }
            1 => {
                // Conditional skip (may decrement CTR) over one to four register-only
                // instructions, which ferrite runs predicated when it can.
                let at = self.body.len();
                self.emit(0);
                for _ in 0..1 + self.r.below(4) {
                    let k = self.r.below(REGISTER_OPS);
                    self.register_op(k);
                }
                let bd = (self.body.len() - at) as i64;
                self.body[at] = enc("BC", &[("bo", self.bo()), ("bi", self.r.below(32) as i64), ("bd", bd), ("aa", 0), ("lk", self.r.below(2) as i64)]);
            }
            2 => {
                // bl to a bclr that returns to the next instruction (or falls through).
                let w = enc("B", &[("li", 2), ("aa", 0), ("lk", 1)]);
                self.emit(w);
                let w = enc("B", &[("li", 2), ("aa", 0), ("lk", 0)]);
                self.emit(w);
                let bo = if self.r.chance(50) { 20 } else { self.bo() };
                let w = enc("BCLR", &[("bo", bo), ("bi", self.r.below(32) as i64), ("lk", self.r.below(2) as i64)]);
                self.emit(w);
            }
            3 => {
                // bcctr forward: CTR = address of the instruction after the bcctr.
                let t = self.dst();
                let w = enc("BC", &[("bo", 20), ("bi", 31), ("bd", 1), ("aa", 0), ("lk", 1)]);
                self.emit(w);
                let w = enc("MFSPR", &[("rt", t), ("spr", 8)]);
                self.emit(w);
                let w = enc("ADDI", &[("rt", t), ("ra", t), ("d", 16)]);
                self.emit(w);
                let w = enc("MTSPR", &[("rt", t), ("spr", 9)]);
                self.emit(w);
                let bo = self.r.pick(&[20, 4, 12, 5, 13]);
                let w = enc("BCCTR", &[("bo", bo), ("bi", self.r.below(32) as i64), ("lk", self.r.below(2) as i64)]);
                self.emit(w);
            }
            4 => {
                // A short counted loop.
                let t = self.dst();
                let w = enc("ADDI", &[("rt", t), ("ra", 0), ("d", 1 + self.r.below(4) as i64)]);
                self.emit(w);
                let w = enc("MTSPR", &[("rt", t), ("spr", 9)]);
                self.emit(w);
                self.instruction_simple();
                let bo = self.r.pick(&[16, 0, 8]);
                let w = enc("BC", &[("bo", bo), ("bi", self.r.below(32) as i64), ("bd", -1i64 & 0x3fff), ("aa", 0), ("lk", 0)]);
                self.emit(w);
            }
            _ => {
                // A branch-and-link to the next instruction (LR gets the address).
                let w = enc("BC", &[("bo", self.bo()), ("bi", self.r.below(32) as i64), ("bd", 1), ("aa", 0), ("lk", 1)]);
                self.emit(w);
            }
        }
    }

    fn spr(&mut self) {
        let w = match self.r.below(8) {
            0..=2 => enc("MFSPR", &[("rt", self.dst()), ("spr", self.r.pick(&[1, 8, 9]))]),
            3..=5 => enc("MTSPR", &[("rt", self.reg()), ("spr", self.r.pick(&[1, 8, 9]))]),
            // Not PVR (287): qemu-ppc lets user code read it because Linux emulates that
            // read for user space; the CPU itself (and ferrite) raises a privileged exception.
            6 => {
                let (rt, spr) = (self.dst(), self.r.pick(&[26, 27, 48, 272, 1023, 259, 260, 268, 269, 999]));
                self.emit(enc("MFSPR", &[("rt", rt), ("spr", spr as i64)]));
                if matches!(spr, 268 | 269) {
                    // The timebase differs between runs: overwrite it.
                    enc("ADDI", &[("rt", rt), ("ra", 0), ("d", 0)])
                } else {
                    return;
                }
            }
            _ => enc("MTSPR", &[("rt", self.reg()), ("spr", self.r.pick(&[26, 48, 272, 1023, 999, 268]))]),
        };
        self.emit(w);
    }

    fn fpr(&mut self) -> i64 {
        self.r.below(32) as i64
    }

    fn floating_point(&mut self) {
        let rc = self.r.below(2) as i64;
        let w = match self.r.below(10) {
            0..=2 => enc(self.r.pick(FA), &[("frt", self.fpr()), ("fra", self.fpr()), ("frb", self.fpr()), ("rc", rc)]),
            3 => enc(self.r.pick(FM), &[("frt", self.fpr()), ("fra", self.fpr()), ("frc", self.fpr()), ("rc", rc)]),
            4..=5 => enc(self.r.pick(FMA), &[("frt", self.fpr()), ("fra", self.fpr()), ("frb", self.fpr()), ("frc", self.fpr()), ("rc", rc)]),
            6 => enc(self.r.pick(FB), &[("frt", self.fpr()), ("frb", self.fpr()), ("rc", rc)]),
            7..=8 => enc(self.r.pick(FX), &[("frt", self.fpr()), ("frb", self.fpr()), ("rc", rc)]),
            _ => {
                let n = if self.r.chance(50) { "FCMPU" } else { "FCMPO" };
                enc(n, &[("bf", self.r.below(8) as i64), ("fra", self.fpr()), ("frb", self.fpr())])
            }
        };
        self.emit(w);
    }

    fn fp_memory(&mut self) {
        let (b, x) = (self.base as i64, self.index as i64);
        let w = match self.r.below(4) {
            0 => {
                let n = self.r.pick(FLOADS);
                let d = self.disp(8, n.ends_with('U'));
                enc(n, &[("rt", self.fpr()), ("ra", b), ("d", d)])
            }
            1 => {
                let n = self.r.pick(FSTORES);
                let d = self.disp(8, n.ends_with('U'));
                enc(n, &[("rt", self.fpr()), ("ra", b), ("d", d)])
            }
            2 => enc(self.r.pick(FLOADS_X), &[("rt", self.fpr()), ("ra", b), ("rb", x)]),
            _ => enc(self.r.pick(FSTORES_X), &[("rt", self.fpr()), ("ra", b), ("rb", x)]),
        };
        self.emit(w);
    }

    fn fpscr_instruction(&mut self) {
        let rc = self.r.below(2) as i64;
        let w = match self.r.below(6) {
            0 => enc("MFFS", &[("frt", self.fpr()), ("rc", rc)]),
            1 => enc("MTFSF", &[("l", 0), ("flm", self.r.below(256) as i64), ("w", 0), ("frb", self.fpr()), ("rc", rc)]),
            2 => enc("MTFSFI", &[("bf", self.r.below(8) as i64), ("w", 0), ("u", self.r.below(16) as i64), ("rc", rc)]),
            3 => enc("MTFSB0", &[("bt", self.r.below(32) as i64), ("rc", rc)]),
            4 => enc("MTFSB1", &[("bt", self.r.below(32) as i64), ("rc", rc)]),
            _ => enc("MCRFS", &[("bf", self.r.below(8) as i64), ("bfa", self.r.below(8) as i64)]),
        };
        self.emit(w);
    }
}

/// The seed of case `i` of a run with master seed `master`.
pub fn case_seed(master: u64, i: u64) -> u64 {
    let mut r = Rng::new(master ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    r.next()
}

/// Case `i` of master seed `master`.
pub fn case(master: u64, i: u64) -> Case {
    let seed = case_seed(master, i);
    Case { seed, ..Case::generate(seed) }
}
