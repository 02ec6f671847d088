//! PowerPC to IR translation.
//!
//! [`translate_block`] decodes guest instructions with the table-generated decoder
//! (`decode/ppc32.decode`) and lifts each to IR through one `trans_*` function per pattern.
//! The functions live in files named after the Power ISA chapters; the one `Decode` impl in
//! `dispatch.rs` maps patterns to them.

mod branch;
mod condreg;
mod dispatch;
mod fixedpoint;
pub mod fp;
mod fp_fast;
mod fp_status;
mod loadstore;
mod predicate;
mod system;

pub use loadstore::reg_in_range;

use crate::cpu::regs::{self, crf, gpr};
use crate::raise;
use ferrite_ir::{Block, Builder, IntCC, Reg, Type, Value};
use ferrite_softmmu::{Endian, MemOp, PAGE_SIZE};

/// What a translator tells the block loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// The next instruction belongs to the same block.
    Continue,
    /// The instruction ended the block (it emitted a terminator).
    EndBlock,
}

/// Why an instruction can not be translated as written: it raises a program interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransError {
    /// An illegal or invalid-form instruction (ESR[PIL]).
    Illegal,
    /// A privileged instruction in user mode (ESR[PPR]).
    Privileged,
    /// An FP instruction with MSR[FP] = 0 (FP unavailable interrupt).
    FpUnavailable,
}

/// Result of one `trans_*` function.
pub type TResult = Result<Flow, TransError>;

/// CPU mode bits a translation depends on (they are part of the block-cache key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mode(pub u64);

impl Mode {
    /// MSR[PR]: user mode.
    pub const PR: u64 = 1 << 0;
    /// MSR[IS]: instruction address space.
    pub const IS: u64 = 1 << 1;
    /// MSR[DS]: data address space.
    pub const DS: u64 = 1 << 2;
    // Bit 3 is free: MSR[FP] is checked when FP code runs (see `Translator::require_fp`).
    /// The FPSCR rounds to nearest with no exception enabled and NI clear: FP arithmetic may
    /// run inline on the host FPU. The instructions that can change this end their block.
    pub const FP_NEAREST_QUIET: u64 = 1 << 4;
    /// FPSCR[XX] and FPSCR[FX] are set: inline FP operations need not set them. Only the
    /// instructions that end their block can clear them.
    pub const FP_STICKY_SET: u64 = 1 << 5;

    /// The mode of a CPU with this MSR and FPSCR.
    pub fn new(msr: u32, fpscr: u32) -> Mode {
        use crate::cpu::msr;
        use crate::fpu::fpscr::{FX, XX};
        let mut m = 0;
        for (bit, flag) in [(msr::PR, Mode::PR), (msr::IS, Mode::IS), (msr::DS, Mode::DS)] {
            if msr & bit != 0 {
                m |= flag;
            }
        }
        // FP code runs only with MSR[FP] set (checked when it runs), so with it clear the FPSCR
        // cannot matter: the default FPSCR's bits are taken, and code run with the FPU off (a
        // kernel, under lazy FP) does not split by whatever FPSCR the last FP user left. With
        // the default FPSCR, a process turning its FPU on keeps the same key.
        let fpscr = if msr & msr::FP != 0 { fpscr } else { 0 };
        if fpscr & fp_fast::NEEDS_CLEAR == 0 {
            m |= Mode::FP_NEAREST_QUIET;
        }
        if fpscr & (XX | FX) == XX | FX {
            m |= Mode::FP_STICKY_SET;
        }
        Mode(m)
    }

    /// User mode?
    pub fn user(self) -> bool {
        self.0 & Mode::PR != 0
    }

    /// Soft-TLB mode for data accesses: privilege × data address space (modes 0-1
    /// supervisor, [`SUPERVISOR_MMU_MODES`]; 2-3 user).
    pub fn data_mmu_idx(self) -> u32 {
        ((self.0 & Mode::PR) * 2 + ((self.0 & Mode::DS) >> 2)) as u32
    }

    /// Soft-TLB mode for instruction fetch: privilege × instruction address space.
    pub fn code_mmu_idx(self) -> usize {
        ((self.0 & Mode::PR) * 2 + ((self.0 & Mode::IS) >> 1)) as usize
    }
}

/// The soft-TLB modes of supervisor state (MSR[PR] = 0), bit `m` for mode `m`.
pub const SUPERVISOR_MMU_MODES: u8 = 0b0000_0011;

/// Lifts one guest instruction at a time into a block.
pub struct Translator<'a> {
    /// The IR being built.
    pub b: Builder<'a>,
    /// PC of the instruction being translated.
    pub pc: u32,
    /// CPU mode the block is translated for.
    pub mode: Mode,
    /// Conditional branches that may still leave the block on their taken path only (the
    /// translation then continues on the fall-through path).
    pub side_exits_left: u32,
    /// Whether an instruction may leave the block partway through it on a rare path: after
    /// enabling MSR[EE] with an interrupt waiting (else the block goes on), or after an FP
    /// fallback. Not in deterministic mode, which has no side exits either: its blocks charge
    /// their whole length to the instruction budget up front.
    pub early_exits: bool,
    /// The run of inline FP operations whose FPSCR writes share a base (see `fp_status`).
    fp_status: Option<fp_status::FpStatus>,
    /// The IR basic block in which MSR[FP] was last checked (see [`Self::require_fp`]).
    fp_checked_in: Option<ferrite_ir::BbId>,
    /// The LT, GT, EQ, SO values the last compare put into each CR field, so that a branch on
    /// a bit just computed uses it instead of unpacking the field again.
    crf_bits: [Option<CrBits>; 8],
    /// The guest code from the block's start (see `translate_block`).
    code: &'a [u8],
    /// Longest block, in instructions.
    max_insns: usize,
    /// Whether short forward branches may become predicated runs (see `predicate`).
    predication: bool,
    /// The predicated run being translated.
    predicate: Option<predicate::Predicate>,
}

/// The four bits of a CR field as `i8` 0/1 values, valid while the block is still in basic
/// block `bb` and nothing after instruction `since` may have changed the field.
#[derive(Clone, Copy)]
struct CrBits {
    bb: ferrite_ir::BbId,
    since: usize,
    bits: [Value; 4],
}

/// Longest block, in guest instructions.
pub const MAX_BLOCK_INSNS: usize = 512;

/// Translates the guest block at `vpc` for `mode` from `code`, the bytes from `vpc` to the end
/// of its page (blocks never cross a page). Up to `side_exits` conditional branches leave
/// through a side exit and the block goes on with their fall-through path; a branch forward
/// over a few register-only instructions becomes a predicated run instead (see `predicate`).
pub fn translate_block(mode: Mode, vpc: u64, code: &[u8], max_insns: usize, side_exits: u32) -> Block {
    translate(mode, vpc, code, max_insns, side_exits, true).unwrap_or_else(|| {
        // An instruction admitted to a predicated run translated to more than register
        // arithmetic (an encoding `predicable` should not admit): translate plainly.
        tracing::debug!(vpc, "predicated run broke its rule; block translated without predication");
        translate(mode, vpc, code, max_insns, side_exits, false).expect("a block without predication always translates")
    })
}

/// [`translate_block`], with or without predicated runs; `None` if a run broke its rule.
fn translate(mode: Mode, vpc: u64, code: &[u8], max_insns: usize, side_exits: u32, predication: bool) -> Option<Block> {
    let mut block = Block::new(&crate::DESC, vpc);
    {
        let mut t = Translator {
            b: Builder::new(&mut block),
            pc: vpc as u32,
            mode,
            side_exits_left: side_exits,
            early_exits: side_exits > 0,
            fp_status: None,
            fp_checked_in: None,
            crf_bits: [None; 8],
            code,
            max_insns: max_insns.max(1),
            predication,
            predicate: None,
        };
        let page_end = (vpc & !(PAGE_SIZE - 1)) + PAGE_SIZE;
        let mut off = 0usize;
        for _ in 0..t.max_insns {
            let Some(bytes) = code.get(off..off + 4) else {
                t.b.exit_direct(t.pc as u64);
                break;
            };
            let insn = u32::from_be_bytes(bytes.try_into().expect("4 bytes"));
            let from = t.b.block().insts.len();
            let predicated = t.predicate;
            t.b.insn_start(t.pc as u64);
            let flow = match dispatch::decode_one(&mut t, insn) {
                Ok(f) => f,
                Err(e) => {
                    t.raise_error(e);
                    Flow::EndBlock
                }
            };
            if let Some(p) = predicated {
                if !t.kept_predicate(p, from) {
                    return None;
                }
            }
            if flow == Flow::EndBlock {
                break;
            }
            t.pc = t.pc.wrapping_add(4);
            off += 4;
            if t.predicate.is_some_and(|p| p.until == t.pc) {
                t.predicate = None;
            }
            if t.pc as u64 >= page_end || t.pc == 0 {
                t.b.exit_direct(t.pc as u64);
                break;
            }
        }
        if t.predicate.is_some() {
            return None;
        }
        if !t.b.is_terminated() {
            t.b.exit_direct(t.pc as u64);
        }
    }
    Some(block)
}

impl Translator<'_> {
    /// Emits the raise a translation error calls for.
    pub fn raise_error(&mut self, e: TransError) {
        let (code, esr) = match e {
            TransError::Illegal => (raise::PROGRAM, crate::excp::esr::PIL),
            TransError::Privileged => (raise::PROGRAM, crate::excp::esr::PPR),
            TransError::FpUnavailable => (raise::FP_UNAVAILABLE, 0),
        };
        let aux = self.b.iconst(Type::I64, esr as u64);
        self.b.raise(code, aux);
    }

    /// Fails with `Privileged` in user mode.
    pub fn require_supervisor(&self) -> Result<(), TransError> {
        if self.mode.user() {
            Err(TransError::Privileged)
        } else {
            Ok(())
        }
    }

    /// Raises FP-unavailable unless MSR[FP], checked when the block runs. MSR[FP] is not part
    /// of the mode key: Linux turns it on and off per process (lazy FP state), and with it in
    /// the key the same code got a translation for each value and the jump cache thrashed
    /// between them (half of all misses in a shell loop). Once per basic block of IR: only
    /// instructions that end the block change the MSR.
    pub fn require_fp(&mut self) {
        let here = self.b.current_bb();
        if self.fp_checked_in == Some(here) {
            return;
        }
        let msr = self.get(regs::MSR);
        let fp = self.b.and_imm(msr, crate::cpu::msr::FP as u64);
        let zero = self.c32(0);
        let off = self.b.icmp(IntCC::Eq, fp, zero);
        let unavailable = self.b.create_cold_bb();
        let available = self.b.create_bb();
        self.b.branch(off, unavailable, available);
        self.b.switch_to(unavailable);
        self.raise_error(TransError::FpUnavailable);
        self.b.switch_to(available);
        self.fp_checked_in = Some(available);
    }

    /// An `i32` constant.
    pub fn c32(&mut self, v: u32) -> Value {
        self.b.iconst(Type::I32, v as u64)
    }

    /// An `i8` constant.
    pub fn c8(&mut self, v: u8) -> Value {
        self.b.iconst(Type::I8, v as u64)
    }

    /// Reads GPR `n`.
    pub fn gpr(&mut self, n: u32) -> Value {
        self.b.get_reg(gpr(n))
    }

    /// Writes GPR `n`.
    pub fn set_gpr(&mut self, n: u32, v: Value) {
        self.set(gpr(n), v)
    }

    /// `(RA|0)`: GPR `ra`, or 0 when `ra` is 0.
    pub fn gpr_or_zero(&mut self, ra: u32) -> Value {
        if ra == 0 {
            self.c32(0)
        } else {
            self.gpr(ra)
        }
    }

    /// Reads a register.
    pub fn get(&mut self, r: Reg) -> Value {
        self.b.get_reg(r)
    }

    /// Writes a register (in a predicated run, only if the run is not skipped).
    pub fn set(&mut self, r: Reg, v: Value) {
        let v = match self.predicate {
            Some(p) => {
                let old = self.b.get_reg(r);
                self.b.select(p.skip, old, v)
            }
            None => v,
        };
        self.b.set_reg(r, v)
    }

    /// Converts an `i8` 0/1 into an `i32` 0/1.
    pub fn bool_to_i32(&mut self, v: Value) -> Value {
        self.b.zext(Type::I32, v)
    }

    /// Sets CR0 from a 32-bit result: LT, GT, EQ from a signed compare with 0, and SO.
    pub fn set_cr0(&mut self, result: Value) {
        let zero = self.c32(0);
        self.set_crf_compare(0, IntCC::Slt, IntCC::Sgt, result, zero);
    }

    /// Sets CR field `bf` from comparing `a` with `b` (`lt`/`gt` say signed or unsigned), and SO.
    pub fn set_crf_compare(&mut self, bf: u32, lt: IntCC, gt: IntCC, a: Value, b: Value) {
        let l = self.b.icmp(lt, a, b);
        let g = self.b.icmp(gt, a, b);
        let e = self.b.icmp(IntCC::Eq, a, b);
        let so = self.get(regs::SO);
        // Two selects (compare and conditional move on the host) instead of three flags
        // shifted into place.
        let (k8, k4, k2) = (self.c8(8), self.c8(4), self.c8(2));
        let lg = self.b.select(l, k8, k4);
        let v = self.b.select(e, k2, lg);
        let v = self.b.or(v, so);
        self.set(crf(bf), v);
        let since = self.b.block().insts.len();
        // In a predicated run the compare's bits are not the field's when the run is skipped.
        self.crf_bits[bf as usize] = self.predicate.is_none().then_some(CrBits { bb: self.b.current_bb(), since, bits: [l, g, e, so] });
    }

    /// The value of CR bit `bi` if the last compare into its field is still valid here: same
    /// basic block, and since then no write of the field and no helper call (helpers may write
    /// any CR field).
    pub fn known_cr_bit(&self, bi: u32) -> Option<Value> {
        let c = self.crf_bits[(bi / 4) as usize]?;
        if c.bb != self.b.current_bb() {
            return None;
        }
        let field = crf(bi / 4).0 as u64;
        let clobbered = self.b.block().insts[c.since..]
            .iter()
            .any(|i| i.op == ferrite_ir::Opcode::Call || (i.op == ferrite_ir::Opcode::SetReg && i.imm == field));
        (!clobbered).then_some(c.bits[(bi % 4) as usize])
    }

    /// Sets XER[OV] to `ov` (`i8` 0/1) and ORs it into XER[SO].
    pub fn set_ov(&mut self, ov: Value) {
        self.set(regs::OV, ov);
        let so = self.get(regs::SO);
        let so = self.b.or(so, ov);
        self.set(regs::SO, so);
    }

    /// A 32-bit effective address as the `i64` address the IR's loads and stores take.
    pub fn addr(&mut self, ea: Value) -> Value {
        self.b.zext(Type::I64, ea)
    }

    /// A big-endian data access of `size_log2` in the current mode.
    pub fn memop(&self, size_log2: u32, signed: bool) -> MemOp {
        MemOp::new(size_log2, signed, Endian::Big, self.mode.data_mmu_idx())
    }

    /// A little-endian (byte-reversed) data access.
    pub fn memop_le(&self, size_log2: u32) -> MemOp {
        MemOp::new(size_log2, false, Endian::Little, self.mode.data_mmu_idx())
    }

    /// PC of the next instruction.
    pub fn next_pc(&self) -> u32 {
        self.pc.wrapping_add(4)
    }
}

#[cfg(test)]
mod tests {
    use super::{Mode, SUPERVISOR_MMU_MODES};
    use crate::cpu::msr;

    #[test]
    fn msr_fp_is_not_part_of_the_mode() {
        // Checked when FP code runs instead: code run with the FPU on and off shares one
        // translation (exceptions.c checks that FP code raises FP-unavailable, then runs).
        assert_eq!(Mode::new(msr::FP | msr::PR, 0), Mode::new(msr::PR, 0));
    }

    #[test]
    fn the_fpscr_counts_only_with_the_fpu_on() {
        use crate::fpu::fpscr::{FX, XX};
        let busy = XX | FX | 0x3; // sticky bits set, rounding toward minus infinity
        assert_eq!(Mode::new(0, busy), Mode::new(0, 0), "FPU off: the FPSCR left by another process is not the mode");
        assert_ne!(Mode::new(msr::FP, busy), Mode::new(msr::FP, 0));
        assert_eq!(Mode::new(msr::FP, 0), Mode::new(0, 0), "the default FPSCR with the FPU on is the same mode as off");
    }

    #[test]
    fn supervisor_mmu_modes_are_exactly_those_of_msr_pr_clear() {
        for m in 0..8u32 {
            let msr = if m & 1 != 0 { msr::PR } else { 0 } | if m & 2 != 0 { msr::IS } else { 0 } | if m & 4 != 0 { msr::DS } else { 0 };
            let mode = Mode::new(msr, 0);
            for idx in [mode.data_mmu_idx() as usize, mode.code_mmu_idx()] {
                assert_eq!(SUPERVISOR_MMU_MODES & (1 << idx) != 0, msr & msr::PR == 0, "MSR {msr:#x}: soft-TLB mode {idx}");
            }
        }
    }
}
