//! Power ISA Book III-E and Book II: SPR and MSR moves, interrupt returns, system call, traps,
//! synchronisation, wait, TLB management and cache management.

use super::loadstore::Ea;
use super::{Flow, TResult, TransError, Translator};
use crate::cpu::spr::{self, After, Home, Priv};
use crate::cpu::{msr, regs};
use crate::excp::Class;
use crate::{helpers, raise};
use ferrite_ir::{IntCC, Type, Value};

/// TO bits of tw/twi.
mod to {
    pub const LT: u32 = 0x10;
    pub const GT: u32 = 0x08;
    pub const EQ: u32 = 0x04;
    pub const LTU: u32 = 0x02;
    pub const GTU: u32 = 0x01;
}

impl Translator<'_> {
    fn allowed(&self, p: Priv) -> bool {
        match p {
            Priv::None => false,
            Priv::User => true,
            Priv::Super => !self.mode.user(),
        }
    }

    /// What QEMU does for an SPR number it does not implement: in supervisor mode a no-op when
    /// bit 0x10 of the number is set, otherwise (and always in user mode) an exception.
    fn unknown_spr(&self, num: u32) -> Result<bool, TransError> {
        tracing::debug!(target: "unimp", "access to unimplemented SPR {num} at {:#x}", self.pc);
        if num & 0x10 != 0 {
            if self.mode.user() {
                Err(TransError::Privileged)
            } else {
                Ok(false)
            }
        } else {
            Err(TransError::Privileged)
        }
    }

    /// mfspr / mftb: RT = SPR[num].
    pub fn mfspr(&mut self, rt: u32, num: u32) -> TResult {
        let Some(def) = spr::lookup(num) else {
            self.unknown_spr(num)?;
            return Ok(Flow::Continue);
        };
        if !self.allowed(def.read) {
            return Err(TransError::Privileged);
        }
        let v = match def.home {
            Home::Reg(r) => self.get(r),
            Home::Xer => self.read_xer(),
            Home::State => {
                let n = self.c32(num);
                self.b.call(helpers::MFSPR, &[n])
            }
        };
        self.set_gpr(rt, v);
        Ok(Flow::Continue)
    }

    /// mtspr: SPR[num] = RS.
    pub fn mtspr(&mut self, num: u32, rs: u32) -> TResult {
        let Some(def) = spr::lookup(num) else {
            self.unknown_spr(num)?;
            return Ok(Flow::Continue);
        };
        if !self.allowed(def.write) {
            return Err(TransError::Privileged);
        }
        let v = self.gpr(rs);
        match def.home {
            Home::Reg(r) => self.set(r, v),
            Home::Xer => self.write_xer(v),
            Home::State => {
                let n = self.c32(num);
                self.b.call(helpers::MTSPR, &[n, v]);
            }
        }
        match def.after {
            After::Continue => Ok(Flow::Continue),
            After::RunLoop => {
                self.b.exit_sync(self.next_pc() as u64);
                Ok(Flow::EndBlock)
            }
            After::Refetch => self.refetch(),
        }
    }

    /// Ends the block after a change to translations (TLB entries, PIDs) that leaves the
    /// mode as it was: the next PC is looked up in the jump cache, which the change left
    /// coherent, without a trip through the run loop. (Linux writes the PID on every kernel
    /// entry and exit and runs `tlbwe` in every TLB-miss handler.)
    fn refetch(&mut self) -> TResult {
        let pc = self.b.iconst(Type::I64, self.next_pc() as u64);
        self.b.exit_dynamic(pc);
        Ok(Flow::EndBlock)
    }

    /// The whole XER as an `i32`.
    pub fn read_xer(&mut self) -> Value {
        let mut acc = self.get(regs::XER_REST);
        for (r, bit) in [(regs::SO, 31), (regs::OV, 30), (regs::CA, 29)] {
            let f = self.get(r);
            let f = self.b.zext(Type::I32, f);
            let f = self.b.shl_imm(f, bit);
            acc = self.b.or(acc, f);
        }
        acc
    }

    /// Sets the XER fields from an `i32`.
    pub fn write_xer(&mut self, v: Value) {
        for (r, bit) in [(regs::SO, 31), (regs::OV, 30), (regs::CA, 29)] {
            let f = self.b.shru_imm(v, bit);
            let f = self.b.trunc(Type::I8, f);
            let f = self.b.and_imm(f, 1);
            self.set(r, f);
        }
        let rest = self.b.and_imm(v, !regs::XER_NOT_REST as u64);
        self.set(regs::XER_REST, rest);
    }

    /// mfmsr.
    pub fn mfmsr(&mut self, rt: u32) -> TResult {
        self.require_supervisor()?;
        let v = self.get(regs::MSR);
        self.set_gpr(rt, v);
        Ok(Flow::Continue)
    }

    /// Ends the block after an MSR change so the run loop re-keys the mode and checks interrupts.
    fn msr_changed(&mut self) -> TResult {
        self.b.exit_sync(self.next_pc() as u64);
        Ok(Flow::EndBlock)
    }

    /// mtmsr.
    pub fn mtmsr(&mut self, rs: u32) -> TResult {
        self.require_supervisor()?;
        let v = self.gpr(rs);
        let v = self.b.and_imm(v, msr::MASK as u64);
        self.set(regs::MSR, v);
        self.msr_changed()
    }

    /// wrtee (EE from RS) / wrteei (EE from the instruction).
    pub fn wrtee(&mut self, ee: Result<bool, u32>) -> TResult {
        self.require_supervisor()?;
        let m = self.get(regs::MSR);
        let m = self.b.and_imm(m, !msr::EE as u64);
        let bit = match ee {
            Ok(e) => self.c32(if e { msr::EE } else { 0 }),
            Err(rs) => {
                let s = self.gpr(rs);
                self.b.and_imm(s, msr::EE as u64)
            }
        };
        let m = self.b.or(m, bit);
        self.set(regs::MSR, m);
        if !self.early_exits {
            return self.msr_changed();
        }
        // EE is not part of the translation mode, so the block only has to end where an
        // interrupt becomes deliverable: never when disabling, and when enabling only if one
        // is waiting. (Linux toggles EE around every spinlock: ending the block each time was
        // most of a boot's returns to the run loop.)
        if ee != Ok(false) {
            let waiting = self.b.call(helpers::IRQ_CHECK, &[]);
            let waiting = self.b.icmp_imm(IntCC::Ne, waiting, 0);
            let (leave, go) = (self.b.create_bb(), self.b.create_bb());
            self.b.branch(waiting, leave, go);
            self.b.switch_to(leave);
            self.b.exit_sync(self.next_pc() as u64);
            self.b.switch_to(go);
        }
        Ok(Flow::Continue)
    }

    /// rfi, rfci, rfdi, rfmci: MSR and PC from the class's save/restore pair.
    pub fn rfi(&mut self, class: Class) -> TResult {
        self.require_supervisor()?;
        let i = class.srr_index();
        let pc = self.get(regs::srr(i));
        let m = self.get(regs::srr(i + 1));
        let m = self.b.and_imm(m, msr::MASK as u64);
        self.set(regs::MSR, m);
        let pc = self.b.and_imm(pc, !3u32 as u64);
        let pc = self.b.zext(Type::I64, pc);
        self.b.exit_sync_dynamic(pc);
        Ok(Flow::EndBlock)
    }

    /// sc.
    pub fn sc(&mut self) -> TResult {
        let zero = self.b.iconst(Type::I64, 0);
        self.b.raise(raise::SYSCALL, zero);
        Ok(Flow::EndBlock)
    }

    /// tw / twi: trap when any condition selected by `to` holds between RA and RB/SI.
    pub fn trap(&mut self, to_bits: u32, ra: u32, b: Result<u32, u32>) -> TResult {
        if to_bits == 0 {
            return Ok(Flow::Continue);
        }
        let esr = self.b.iconst(Type::I64, crate::excp::esr::PTR as u64);
        if to_bits == 31 {
            self.b.raise(raise::PROGRAM, esr);
            return Ok(Flow::EndBlock);
        }
        let a = self.gpr(ra);
        let bv = match b {
            Ok(imm) => self.c32(imm),
            Err(rb) => self.gpr(rb),
        };
        let mut any = self.c8(0);
        for (bit, cc) in [(to::LT, IntCC::Slt), (to::GT, IntCC::Sgt), (to::EQ, IntCC::Eq), (to::LTU, IntCC::Ult), (to::GTU, IntCC::Ugt)] {
            if to_bits & bit != 0 {
                let c = self.b.icmp(cc, a, bv);
                any = self.b.or(any, c);
            }
        }
        let trap_bb = self.b.create_bb();
        let cont = self.b.create_bb();
        self.b.branch(any, trap_bb, cont);
        self.b.switch_to(trap_bb);
        let esr = self.b.iconst(Type::I64, crate::excp::esr::PTR as u64);
        self.b.raise(raise::PROGRAM, esr);
        self.b.switch_to(cont);
        Ok(Flow::Continue)
    }

    /// isync: ends the block (QEMU does too), so later instructions are looked up afresh.
    pub fn isync(&mut self) -> TResult {
        self.b.exit_direct(self.next_pc() as u64);
        Ok(Flow::EndBlock)
    }

    /// wait: halt until an interrupt. Not privileged (Power ISA 2.06 Book II, category Wait;
    /// QEMU agrees).
    pub fn wait(&mut self) -> TResult {
        self.b.halt(self.next_pc() as u64);
        Ok(Flow::EndBlock)
    }

    /// tlbwe / tlbre.
    pub fn tlb_rw(&mut self, write: bool) -> TResult {
        self.require_supervisor()?;
        if write {
            self.b.call(helpers::TLBWE, &[]);
            self.refetch()
        } else {
            self.b.call(helpers::TLBRE, &[]);
            Ok(Flow::Continue)
        }
    }

    /// tlbsx.
    pub fn tlbsx(&mut self, ra: u32, rb: u32) -> TResult {
        self.require_supervisor()?;
        let ea = self.ea(Ea::X(ra, rb), false);
        self.b.call(helpers::TLBSX, &[ea]);
        Ok(Flow::Continue)
    }

    /// tlbivax (`t` None) / tlbilx (`t` Some).
    pub fn tlb_invalidate(&mut self, t: Option<u32>, ra: u32, rb: u32) -> TResult {
        self.require_supervisor()?;
        let ea = self.ea(Ea::X(ra, rb), false);
        match t {
            None => self.b.call(helpers::TLBIVAX, &[ea]),
            Some(t) => {
                let t = self.c32(t);
                self.b.call(helpers::TLBILX, &[t, ea])
            }
        };
        self.refetch()
    }

    /// Supervisor-only no-ops (tlbsync, cache locking).
    pub fn supervisor_nop(&mut self) -> TResult {
        self.require_supervisor()?;
        Ok(Flow::Continue)
    }

    /// msgsnd (`send`) / msgclr: doorbell messages between cores (privileged). Ends the block so
    /// a doorbell sent to this core is taken at once.
    pub fn msg(&mut self, rb: u32, send: bool) -> TResult {
        self.require_supervisor()?;
        let v = self.gpr(rb);
        self.b.call(if send { helpers::MSGSND } else { helpers::MSGCLR }, &[v]);
        self.b.exit_sync(self.next_pc() as u64);
        Ok(Flow::EndBlock)
    }

    /// dcbi: privileged; the MMU treats it as a store.
    pub fn dcbi(&mut self, ra: u32, rb: u32) -> TResult {
        self.require_supervisor()?;
        self.cache_probe(ra, rb, true)
    }
}
