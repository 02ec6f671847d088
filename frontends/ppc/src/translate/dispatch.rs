//! The one place that maps each pattern of `ppc32.decode` to its translation. Families share
//! a translator function in the chapter files; each line here says which, with what operands.

use super::branch::BranchTarget;
use super::fixedpoint::{AddB, CarryIn};
use super::fp::FpOp;
use super::loadstore::Ea;
use super::{TResult, TransError, Translator};
use crate::decode::{self, *};
use crate::excp::Class;
use ferrite_ir::{Opcode, Type};

/// The sign bit of a double.

/// Decodes and translates one instruction word.
pub fn decode_one(t: &mut Translator<'_>, insn: u32) -> TResult {
    decode::decode(t, insn).unwrap_or(Err(TransError::Illegal))
}

impl Decode for Translator<'_> {
    type Output = TResult;

    // ---- branches ----
    fn trans_b(&mut self, a: &ArgI) -> TResult {
        self.branch_imm(a.li, a.aa != 0, a.lk != 0)
    }
    fn trans_bc(&mut self, a: &ArgB) -> TResult {
        let target = self.bc_target(a.bd, a.aa != 0);
        self.branch_cond(a.bo, a.bi, target, a.lk != 0)
    }
    fn trans_bclr(&mut self, a: &ArgXlBr) -> TResult {
        self.branch_cond(a.bo, a.bi, BranchTarget::Lr, a.lk != 0)
    }
    fn trans_bcctr(&mut self, a: &ArgXlBr) -> TResult {
        self.branch_cond(a.bo, a.bi, BranchTarget::Ctr, a.lk != 0)
    }

    // ---- condition register ----
    fn trans_crand(&mut self, a: &ArgXl) -> TResult {
        self.cr_logic(a.bt, a.ba, a.bb, Opcode::And, false, false)
    }
    fn trans_crnand(&mut self, a: &ArgXl) -> TResult {
        self.cr_logic(a.bt, a.ba, a.bb, Opcode::And, true, false)
    }
    fn trans_cror(&mut self, a: &ArgXl) -> TResult {
        self.cr_logic(a.bt, a.ba, a.bb, Opcode::Or, false, false)
    }
    fn trans_crxor(&mut self, a: &ArgXl) -> TResult {
        self.cr_logic(a.bt, a.ba, a.bb, Opcode::Xor, false, false)
    }
    fn trans_crnor(&mut self, a: &ArgXl) -> TResult {
        self.cr_logic(a.bt, a.ba, a.bb, Opcode::Or, true, false)
    }
    fn trans_creqv(&mut self, a: &ArgXl) -> TResult {
        self.cr_logic(a.bt, a.ba, a.bb, Opcode::Xor, true, false)
    }
    fn trans_crandc(&mut self, a: &ArgXl) -> TResult {
        self.cr_logic(a.bt, a.ba, a.bb, Opcode::And, false, true)
    }
    fn trans_crorc(&mut self, a: &ArgXl) -> TResult {
        self.cr_logic(a.bt, a.ba, a.bb, Opcode::Or, false, true)
    }
    fn trans_mcrf(&mut self, a: &ArgCrf) -> TResult {
        self.mcrf(a.bf, a.bfa)
    }
    fn trans_sc(&mut self, _: &ArgSc) -> TResult {
        self.sc()
    }

    // ---- integer loads and stores ----
    fn trans_lbz(&mut self, a: &ArgD) -> TResult {
        self.load_int(a.rt, Ea::D(a.ra, a.d), 0, false, false)
    }
    fn trans_lbzu(&mut self, a: &ArgD) -> TResult {
        self.load_int(a.rt, Ea::D(a.ra, a.d), 0, false, true)
    }
    fn trans_lhz(&mut self, a: &ArgD) -> TResult {
        self.load_int(a.rt, Ea::D(a.ra, a.d), 1, false, false)
    }
    fn trans_lhzu(&mut self, a: &ArgD) -> TResult {
        self.load_int(a.rt, Ea::D(a.ra, a.d), 1, false, true)
    }
    fn trans_lha(&mut self, a: &ArgD) -> TResult {
        self.load_int(a.rt, Ea::D(a.ra, a.d), 1, true, false)
    }
    fn trans_lhau(&mut self, a: &ArgD) -> TResult {
        self.load_int(a.rt, Ea::D(a.ra, a.d), 1, true, true)
    }
    fn trans_lwz(&mut self, a: &ArgD) -> TResult {
        self.load_int(a.rt, Ea::D(a.ra, a.d), 2, false, false)
    }
    fn trans_lwzu(&mut self, a: &ArgD) -> TResult {
        self.load_int(a.rt, Ea::D(a.ra, a.d), 2, false, true)
    }
    fn trans_stb(&mut self, a: &ArgD) -> TResult {
        self.store_int(a.rt, Ea::D(a.ra, a.d), 0, false)
    }
    fn trans_stbu(&mut self, a: &ArgD) -> TResult {
        self.store_int(a.rt, Ea::D(a.ra, a.d), 0, true)
    }
    fn trans_sth(&mut self, a: &ArgD) -> TResult {
        self.store_int(a.rt, Ea::D(a.ra, a.d), 1, false)
    }
    fn trans_sthu(&mut self, a: &ArgD) -> TResult {
        self.store_int(a.rt, Ea::D(a.ra, a.d), 1, true)
    }
    fn trans_stw(&mut self, a: &ArgD) -> TResult {
        self.store_int(a.rt, Ea::D(a.ra, a.d), 2, false)
    }
    fn trans_stwu(&mut self, a: &ArgD) -> TResult {
        self.store_int(a.rt, Ea::D(a.ra, a.d), 2, true)
    }
    fn trans_lbzx(&mut self, a: &ArgX) -> TResult {
        self.load_int(a.rt, Ea::X(a.ra, a.rb), 0, false, false)
    }
    fn trans_lbzux(&mut self, a: &ArgX) -> TResult {
        self.load_int(a.rt, Ea::X(a.ra, a.rb), 0, false, true)
    }
    fn trans_lhzx(&mut self, a: &ArgX) -> TResult {
        self.load_int(a.rt, Ea::X(a.ra, a.rb), 1, false, false)
    }
    fn trans_lhzux(&mut self, a: &ArgX) -> TResult {
        self.load_int(a.rt, Ea::X(a.ra, a.rb), 1, false, true)
    }
    fn trans_lhax(&mut self, a: &ArgX) -> TResult {
        self.load_int(a.rt, Ea::X(a.ra, a.rb), 1, true, false)
    }
    fn trans_lhaux(&mut self, a: &ArgX) -> TResult {
        self.load_int(a.rt, Ea::X(a.ra, a.rb), 1, true, true)
    }
    fn trans_lwzx(&mut self, a: &ArgX) -> TResult {
        self.load_int(a.rt, Ea::X(a.ra, a.rb), 2, false, false)
    }
    fn trans_lwzux(&mut self, a: &ArgX) -> TResult {
        self.load_int(a.rt, Ea::X(a.ra, a.rb), 2, false, true)
    }
    fn trans_stbx(&mut self, a: &ArgX) -> TResult {
        self.store_int(a.rt, Ea::X(a.ra, a.rb), 0, false)
    }
    fn trans_stbux(&mut self, a: &ArgX) -> TResult {
        self.store_int(a.rt, Ea::X(a.ra, a.rb), 0, true)
    }
    fn trans_sthx(&mut self, a: &ArgX) -> TResult {
        self.store_int(a.rt, Ea::X(a.ra, a.rb), 1, false)
    }
    fn trans_sthux(&mut self, a: &ArgX) -> TResult {
        self.store_int(a.rt, Ea::X(a.ra, a.rb), 1, true)
    }
    fn trans_stwx(&mut self, a: &ArgX) -> TResult {
        self.store_int(a.rt, Ea::X(a.ra, a.rb), 2, false)
    }
    fn trans_stwux(&mut self, a: &ArgX) -> TResult {
        self.store_int(a.rt, Ea::X(a.ra, a.rb), 2, true)
    }
    fn trans_lhbrx(&mut self, a: &ArgX) -> TResult {
        self.load_reversed(a.rt, a.ra, a.rb, 1)
    }
    fn trans_lwbrx(&mut self, a: &ArgX) -> TResult {
        self.load_reversed(a.rt, a.ra, a.rb, 2)
    }
    fn trans_sthbrx(&mut self, a: &ArgX) -> TResult {
        self.store_reversed(a.rt, a.ra, a.rb, 1)
    }
    fn trans_stwbrx(&mut self, a: &ArgX) -> TResult {
        self.store_reversed(a.rt, a.ra, a.rb, 2)
    }
    fn trans_lmw(&mut self, a: &ArgD) -> TResult {
        self.lmw(a.rt, a.ra, a.d)
    }
    fn trans_stmw(&mut self, a: &ArgD) -> TResult {
        self.stmw(a.rt, a.ra, a.d)
    }
    fn trans_lswi(&mut self, a: &ArgNb) -> TResult {
        self.string_imm(a.rt, a.ra, a.nb, true)
    }
    fn trans_lswx(&mut self, a: &ArgX) -> TResult {
        self.string_indexed(a.rt, a.ra, a.rb, true)
    }
    fn trans_stswi(&mut self, a: &ArgNb) -> TResult {
        self.string_imm(a.rt, a.ra, a.nb, false)
    }
    fn trans_stswx(&mut self, a: &ArgX) -> TResult {
        self.string_indexed(a.rt, a.ra, a.rb, false)
    }

    // ---- integer arithmetic ----
    fn trans_addi(&mut self, a: &ArgD) -> TResult {
        self.addi(a.rt, a.ra, a.d as u32)
    }
    fn trans_addis(&mut self, a: &ArgD) -> TResult {
        self.addi(a.rt, a.ra, (a.d as u32) << 16)
    }
    fn trans_addic(&mut self, a: &ArgD) -> TResult {
        self.addic(a.rt, a.ra, a.d as u32, false)
    }
    fn trans_addic_(&mut self, a: &ArgD) -> TResult {
        self.addic(a.rt, a.ra, a.d as u32, true)
    }
    fn trans_subfic(&mut self, a: &ArgD) -> TResult {
        self.subfic(a.rt, a.ra, a.d as u32)
    }
    fn trans_mulli(&mut self, a: &ArgD) -> TResult {
        self.mulli(a.rt, a.ra, a.d as u32)
    }
    fn trans_add(&mut self, a: &ArgXo) -> TResult {
        self.add_family(a.rt, a.ra, AddB::Reg(a.rb), false, CarryIn::Zero, false, a.oe != 0, a.rc != 0)
    }
    fn trans_addc(&mut self, a: &ArgXo) -> TResult {
        self.add_family(a.rt, a.ra, AddB::Reg(a.rb), false, CarryIn::Zero, true, a.oe != 0, a.rc != 0)
    }
    fn trans_adde(&mut self, a: &ArgXo) -> TResult {
        self.add_family(a.rt, a.ra, AddB::Reg(a.rb), false, CarryIn::Ca, true, a.oe != 0, a.rc != 0)
    }
    fn trans_addme(&mut self, a: &ArgXo) -> TResult {
        self.add_family(a.rt, a.ra, AddB::MinusOne, false, CarryIn::Ca, true, a.oe != 0, a.rc != 0)
    }
    fn trans_addze(&mut self, a: &ArgXo) -> TResult {
        self.add_family(a.rt, a.ra, AddB::Zero, false, CarryIn::Ca, true, a.oe != 0, a.rc != 0)
    }
    fn trans_subf(&mut self, a: &ArgXo) -> TResult {
        self.add_family(a.rt, a.ra, AddB::Reg(a.rb), true, CarryIn::One, false, a.oe != 0, a.rc != 0)
    }
    fn trans_subfc(&mut self, a: &ArgXo) -> TResult {
        self.add_family(a.rt, a.ra, AddB::Reg(a.rb), true, CarryIn::One, true, a.oe != 0, a.rc != 0)
    }
    fn trans_subfe(&mut self, a: &ArgXo) -> TResult {
        self.add_family(a.rt, a.ra, AddB::Reg(a.rb), true, CarryIn::Ca, true, a.oe != 0, a.rc != 0)
    }
    fn trans_subfme(&mut self, a: &ArgXo) -> TResult {
        self.add_family(a.rt, a.ra, AddB::MinusOne, true, CarryIn::Ca, true, a.oe != 0, a.rc != 0)
    }
    fn trans_subfze(&mut self, a: &ArgXo) -> TResult {
        self.add_family(a.rt, a.ra, AddB::Zero, true, CarryIn::Ca, true, a.oe != 0, a.rc != 0)
    }
    fn trans_neg(&mut self, a: &ArgXo) -> TResult {
        self.neg(a.rt, a.ra, a.oe != 0, a.rc != 0)
    }
    fn trans_mullw(&mut self, a: &ArgXo) -> TResult {
        self.mullw(a.rt, a.ra, a.rb, a.oe != 0, a.rc != 0)
    }
    fn trans_mulhw(&mut self, a: &ArgXo) -> TResult {
        self.mulhw(a.rt, a.ra, a.rb, true, a.rc != 0)
    }
    fn trans_mulhwu(&mut self, a: &ArgXo) -> TResult {
        self.mulhw(a.rt, a.ra, a.rb, false, a.rc != 0)
    }
    fn trans_divw(&mut self, a: &ArgXo) -> TResult {
        self.divw(a.rt, a.ra, a.rb, true, a.oe != 0, a.rc != 0)
    }
    fn trans_divwu(&mut self, a: &ArgXo) -> TResult {
        self.divw(a.rt, a.ra, a.rb, false, a.oe != 0, a.rc != 0)
    }

    // ---- compare, trap, select ----
    fn trans_cmpi(&mut self, a: &ArgCmpi) -> TResult {
        self.compare(a.bf, a.l, a.ra, Ok(a.imm as u32), true)
    }
    fn trans_cmpli(&mut self, a: &ArgCmpli) -> TResult {
        self.compare(a.bf, a.l, a.ra, Ok(a.uimm), false)
    }
    fn trans_cmp(&mut self, a: &ArgCmp) -> TResult {
        self.compare(a.bf, a.l, a.ra, Err(a.rb), true)
    }
    fn trans_cmpl(&mut self, a: &ArgCmp) -> TResult {
        self.compare(a.bf, a.l, a.ra, Err(a.rb), false)
    }
    fn trans_twi(&mut self, a: &ArgToRi) -> TResult {
        self.trap(a.to, a.ra, Ok(a.si as u32))
    }
    fn trans_tw(&mut self, a: &ArgToRr) -> TResult {
        self.trap(a.to, a.ra, Err(a.rb))
    }
    fn trans_isel(&mut self, a: &ArgIsel) -> TResult {
        self.isel(a.rt, a.ra, a.rb, a.bc)
    }

    // ---- logical ----
    fn trans_andi_(&mut self, a: &ArgDu) -> TResult {
        self.logical_imm(a.ra, a.rt, a.ui, Opcode::And, true)
    }
    fn trans_andis_(&mut self, a: &ArgDu) -> TResult {
        self.logical_imm(a.ra, a.rt, a.ui << 16, Opcode::And, true)
    }
    fn trans_ori(&mut self, a: &ArgDu) -> TResult {
        self.logical_imm(a.ra, a.rt, a.ui, Opcode::Or, false)
    }
    fn trans_oris(&mut self, a: &ArgDu) -> TResult {
        self.logical_imm(a.ra, a.rt, a.ui << 16, Opcode::Or, false)
    }
    fn trans_xori(&mut self, a: &ArgDu) -> TResult {
        self.logical_imm(a.ra, a.rt, a.ui, Opcode::Xor, false)
    }
    fn trans_xoris(&mut self, a: &ArgDu) -> TResult {
        self.logical_imm(a.ra, a.rt, a.ui << 16, Opcode::Xor, false)
    }
    fn trans_and(&mut self, a: &ArgXRc) -> TResult {
        self.logical(a.ra, a.rt, a.rb, Opcode::And, false, false, a.rc != 0)
    }
    fn trans_andc(&mut self, a: &ArgXRc) -> TResult {
        self.logical(a.ra, a.rt, a.rb, Opcode::And, false, true, a.rc != 0)
    }
    fn trans_or(&mut self, a: &ArgXRc) -> TResult {
        self.logical(a.ra, a.rt, a.rb, Opcode::Or, false, false, a.rc != 0)
    }
    fn trans_orc(&mut self, a: &ArgXRc) -> TResult {
        self.logical(a.ra, a.rt, a.rb, Opcode::Or, false, true, a.rc != 0)
    }
    fn trans_xor(&mut self, a: &ArgXRc) -> TResult {
        self.logical(a.ra, a.rt, a.rb, Opcode::Xor, false, false, a.rc != 0)
    }
    fn trans_nand(&mut self, a: &ArgXRc) -> TResult {
        self.logical(a.ra, a.rt, a.rb, Opcode::And, true, false, a.rc != 0)
    }
    fn trans_nor(&mut self, a: &ArgXRc) -> TResult {
        self.logical(a.ra, a.rt, a.rb, Opcode::Or, true, false, a.rc != 0)
    }
    fn trans_eqv(&mut self, a: &ArgXRc) -> TResult {
        self.logical(a.ra, a.rt, a.rb, Opcode::Xor, true, false, a.rc != 0)
    }
    fn trans_extsb(&mut self, a: &ArgXRc) -> TResult {
        self.exts(a.ra, a.rt, Type::I8, a.rc != 0)
    }
    fn trans_extsh(&mut self, a: &ArgXRc) -> TResult {
        self.exts(a.ra, a.rt, Type::I16, a.rc != 0)
    }
    fn trans_cntlzw(&mut self, a: &ArgXRc) -> TResult {
        self.cntlzw(a.ra, a.rt, a.rc != 0)
    }

    // ---- rotate and shift ----
    fn trans_rlwinm(&mut self, a: &ArgM) -> TResult {
        self.rlw(a.ra, a.rs, Ok(a.sh), a.mb, a.me, false, a.rc != 0)
    }
    fn trans_rlwnm(&mut self, a: &ArgM) -> TResult {
        self.rlw(a.ra, a.rs, Err(a.sh), a.mb, a.me, false, a.rc != 0)
    }
    fn trans_rlwimi(&mut self, a: &ArgM) -> TResult {
        self.rlw(a.ra, a.rs, Ok(a.sh), a.mb, a.me, true, a.rc != 0)
    }
    fn trans_slw(&mut self, a: &ArgXRc) -> TResult {
        self.shift_word(a.ra, a.rt, a.rb, true, a.rc != 0)
    }
    fn trans_srw(&mut self, a: &ArgXRc) -> TResult {
        self.shift_word(a.ra, a.rt, a.rb, false, a.rc != 0)
    }
    fn trans_sraw(&mut self, a: &ArgXRc) -> TResult {
        self.sraw(a.ra, a.rt, Err(a.rb), a.rc != 0)
    }
    fn trans_srawi(&mut self, a: &ArgXRc) -> TResult {
        self.sraw(a.ra, a.rt, Ok(a.rb), a.rc != 0)
    }

    // ---- special registers ----
    fn trans_mtcrf(&mut self, a: &ArgFxm) -> TResult {
        self.mtcrf(a.fxm, a.rs, a.one != 0)
    }
    fn trans_mfcr(&mut self, a: &ArgFxm) -> TResult {
        self.mfcr(a.rs, a.fxm, a.one != 0)
    }
    fn trans_mcrxr(&mut self, a: &ArgCrf) -> TResult {
        self.mcrxr(a.bf)
    }
    fn trans_mfspr(&mut self, a: &ArgSpr) -> TResult {
        self.mfspr(a.rt, a.spr)
    }
    fn trans_mtspr(&mut self, a: &ArgSpr) -> TResult {
        self.mtspr(a.spr, a.rt)
    }
    fn trans_mftb(&mut self, a: &ArgSpr) -> TResult {
        match a.spr {
            268 | 269 => self.mfspr(a.rt, a.spr),
            _ => Err(TransError::Illegal),
        }
    }
    fn trans_mfmsr(&mut self, a: &ArgX) -> TResult {
        self.mfmsr(a.rt)
    }
    fn trans_mtmsr(&mut self, a: &ArgX) -> TResult {
        self.mtmsr(a.rt)
    }
    fn trans_wrtee(&mut self, a: &ArgX) -> TResult {
        self.wrtee(Err(a.rt))
    }
    fn trans_wrteei(&mut self, a: &ArgWrteei) -> TResult {
        self.wrtee(Ok(a.e != 0))
    }

    // ---- storage control and synchronisation ----
    fn trans_icbi(&mut self, a: &ArgX) -> TResult {
        self.cache_probe(a.ra, a.rb, false)
    }
    fn trans_dcbt(&mut self, _: &ArgX) -> TResult {
        Ok(super::Flow::Continue)
    }
    fn trans_dcbtst(&mut self, _: &ArgX) -> TResult {
        Ok(super::Flow::Continue)
    }
    fn trans_dcbz(&mut self, a: &ArgX) -> TResult {
        self.dcbz(a.ra, a.rb)
    }
    fn trans_dcbst(&mut self, a: &ArgX) -> TResult {
        self.cache_probe(a.ra, a.rb, false)
    }
    fn trans_dcbf(&mut self, a: &ArgX) -> TResult {
        self.cache_probe(a.ra, a.rb, false)
    }
    fn trans_dcba(&mut self, _: &ArgX) -> TResult {
        Ok(super::Flow::Continue)
    }
    fn trans_isync(&mut self, _: &ArgIsync) -> TResult {
        self.isync()
    }
    fn trans_lwarx(&mut self, a: &ArgX) -> TResult {
        self.lwarx(a.rt, a.ra, a.rb)
    }
    fn trans_stwcx_(&mut self, a: &ArgX) -> TResult {
        self.stwcx(a.rt, a.ra, a.rb)
    }
    fn trans_sync(&mut self, _: &ArgSync) -> TResult {
        Ok(super::Flow::Continue)
    }
    fn trans_mbar(&mut self, _: &ArgMbar) -> TResult {
        Ok(super::Flow::Continue)
    }
    fn trans_wait(&mut self, _: &ArgWait) -> TResult {
        self.wait()
    }
    fn trans_dcbtls(&mut self, _: &ArgX) -> TResult {
        self.supervisor_nop()
    }
    fn trans_dcbtstls(&mut self, _: &ArgX) -> TResult {
        self.supervisor_nop()
    }
    fn trans_dcblc(&mut self, _: &ArgX) -> TResult {
        self.supervisor_nop()
    }
    fn trans_icbtls(&mut self, _: &ArgX) -> TResult {
        self.supervisor_nop()
    }
    fn trans_icblc(&mut self, _: &ArgX) -> TResult {
        self.supervisor_nop()
    }

    // ---- privileged ----
    fn trans_rfi(&mut self, _: &ArgRfi) -> TResult {
        self.rfi(Class::Base)
    }
    fn trans_rfci(&mut self, _: &ArgRfci) -> TResult {
        self.rfi(Class::Critical)
    }
    fn trans_rfdi(&mut self, _: &ArgRfdi) -> TResult {
        self.rfi(Class::Debug)
    }
    fn trans_rfmci(&mut self, _: &ArgRfmci) -> TResult {
        self.rfi(Class::MachineCheck)
    }
    fn trans_dcbi(&mut self, a: &ArgX) -> TResult {
        self.dcbi(a.ra, a.rb)
    }
    fn trans_tlbre(&mut self, _: &ArgTlbre) -> TResult {
        self.tlb_rw(false)
    }
    fn trans_tlbwe(&mut self, _: &ArgTlbwe) -> TResult {
        self.tlb_rw(true)
    }
    fn trans_tlbsx(&mut self, a: &ArgX) -> TResult {
        self.tlbsx(a.ra, a.rb)
    }
    fn trans_tlbivax(&mut self, a: &ArgX) -> TResult {
        self.tlb_invalidate(None, a.ra, a.rb)
    }
    fn trans_tlbilx(&mut self, a: &ArgT) -> TResult {
        match a.t {
            0 | 1 | 3 => self.tlb_invalidate(Some(a.t), a.ra, a.rb),
            _ => Err(TransError::Illegal),
        }
    }
    fn trans_tlbsync(&mut self, _: &ArgTlbsync) -> TResult {
        self.supervisor_nop()
    }
    fn trans_msgsnd(&mut self, a: &ArgX) -> TResult {
        self.msg(a.rb, true)
    }
    fn trans_msgclr(&mut self, a: &ArgX) -> TResult {
        self.msg(a.rb, false)
    }

    // ---- floating-point loads and stores ----
    fn trans_lfs(&mut self, a: &ArgD) -> TResult {
        self.load_fp(a.rt, Ea::D(a.ra, a.d), true, false)
    }
    fn trans_lfsu(&mut self, a: &ArgD) -> TResult {
        self.load_fp(a.rt, Ea::D(a.ra, a.d), true, true)
    }
    fn trans_lfd(&mut self, a: &ArgD) -> TResult {
        self.load_fp(a.rt, Ea::D(a.ra, a.d), false, false)
    }
    fn trans_lfdu(&mut self, a: &ArgD) -> TResult {
        self.load_fp(a.rt, Ea::D(a.ra, a.d), false, true)
    }
    fn trans_stfs(&mut self, a: &ArgD) -> TResult {
        self.store_fp(a.rt, Ea::D(a.ra, a.d), true, false)
    }
    fn trans_stfsu(&mut self, a: &ArgD) -> TResult {
        self.store_fp(a.rt, Ea::D(a.ra, a.d), true, true)
    }
    fn trans_stfd(&mut self, a: &ArgD) -> TResult {
        self.store_fp(a.rt, Ea::D(a.ra, a.d), false, false)
    }
    fn trans_stfdu(&mut self, a: &ArgD) -> TResult {
        self.store_fp(a.rt, Ea::D(a.ra, a.d), false, true)
    }
    fn trans_lfsx(&mut self, a: &ArgX) -> TResult {
        self.load_fp(a.rt, Ea::X(a.ra, a.rb), true, false)
    }
    fn trans_lfsux(&mut self, a: &ArgX) -> TResult {
        self.load_fp(a.rt, Ea::X(a.ra, a.rb), true, true)
    }
    fn trans_lfdx(&mut self, a: &ArgX) -> TResult {
        self.load_fp(a.rt, Ea::X(a.ra, a.rb), false, false)
    }
    fn trans_lfdux(&mut self, a: &ArgX) -> TResult {
        self.load_fp(a.rt, Ea::X(a.ra, a.rb), false, true)
    }
    fn trans_stfsx(&mut self, a: &ArgX) -> TResult {
        self.store_fp(a.rt, Ea::X(a.ra, a.rb), true, false)
    }
    fn trans_stfsux(&mut self, a: &ArgX) -> TResult {
        self.store_fp(a.rt, Ea::X(a.ra, a.rb), true, true)
    }
    fn trans_stfdx(&mut self, a: &ArgX) -> TResult {
        self.store_fp(a.rt, Ea::X(a.ra, a.rb), false, false)
    }
    fn trans_stfdux(&mut self, a: &ArgX) -> TResult {
        self.store_fp(a.rt, Ea::X(a.ra, a.rb), false, true)
    }
    fn trans_stfiwx(&mut self, a: &ArgX) -> TResult {
        self.stfiwx(a.rt, a.ra, a.rb)
    }

    // ---- floating-point moves ----
    fn trans_fmr(&mut self, a: &ArgFxfp) -> TResult {
        self.fp_move(a.frt, a.frb, false, false, a.rc != 0)
    }
    fn trans_fneg(&mut self, a: &ArgFxfp) -> TResult {
        self.fp_move(a.frt, a.frb, false, true, a.rc != 0)
    }
    fn trans_fabs(&mut self, a: &ArgFxfp) -> TResult {
        self.fp_move(a.frt, a.frb, true, false, a.rc != 0)
    }
    fn trans_fnabs(&mut self, a: &ArgFxfp) -> TResult {
        self.fp_move(a.frt, a.frb, true, true, a.rc != 0)
    }

    // ---- floating-point arithmetic ----
    fn trans_fadd(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::Add, a)
    }
    fn trans_fsub(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::Sub, a)
    }
    fn trans_fmul(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::Mul, a)
    }
    fn trans_fdiv(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::Div, a)
    }
    fn trans_fadds(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::AddS, a)
    }
    fn trans_fsubs(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::SubS, a)
    }
    fn trans_fmuls(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::MulS, a)
    }
    fn trans_fdivs(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::DivS, a)
    }
    fn trans_fres(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::Res, a)
    }
    fn trans_frsqrte(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::Rsqrte, a)
    }
    fn trans_fsel(&mut self, a: &ArgA) -> TResult {
        self.fsel(a)
    }
    fn trans_fmadd(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::Madd, a)
    }
    fn trans_fmsub(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::Msub, a)
    }
    fn trans_fnmadd(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::Nmadd, a)
    }
    fn trans_fnmsub(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::Nmsub, a)
    }
    fn trans_fmadds(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::MaddS, a)
    }
    fn trans_fmsubs(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::MsubS, a)
    }
    fn trans_fnmadds(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::NmaddS, a)
    }
    fn trans_fnmsubs(&mut self, a: &ArgA) -> TResult {
        self.fp_arith(FpOp::NmsubS, a)
    }
    fn trans_frsp(&mut self, a: &ArgFxfp) -> TResult {
        self.fp_unary(FpOp::Rsp, a.frt, a.frb, a.rc != 0)
    }
    fn trans_fctiw(&mut self, a: &ArgFxfp) -> TResult {
        self.fp_unary(FpOp::Ctiw, a.frt, a.frb, a.rc != 0)
    }
    fn trans_fctiwz(&mut self, a: &ArgFxfp) -> TResult {
        self.fp_unary(FpOp::Ctiwz, a.frt, a.frb, a.rc != 0)
    }
    fn trans_fcmpu(&mut self, a: &ArgFcmp) -> TResult {
        self.fp_compare(a.bf, a.fra, a.frb, false)
    }
    fn trans_fcmpo(&mut self, a: &ArgFcmp) -> TResult {
        self.fp_compare(a.bf, a.fra, a.frb, true)
    }

    // ---- FPSCR ----
    fn trans_mffs(&mut self, a: &ArgFxfp) -> TResult {
        self.mffs(a.frt, a.rc != 0)
    }
    fn trans_mcrfs(&mut self, a: &ArgMcrfs) -> TResult {
        self.mcrfs(a.bf, a.bfa)
    }
    fn trans_mtfsfi(&mut self, a: &ArgMtfsfi) -> TResult {
        self.mtfsfi(a.bf, a.w, a.u, a.rc != 0)
    }
    fn trans_mtfsf(&mut self, a: &ArgMtfsf) -> TResult {
        self.mtfsf(a.l, a.flm, a.w, a.frb, a.rc != 0)
    }
    fn trans_mtfsb0(&mut self, a: &ArgCrbit) -> TResult {
        self.mtfsb(a.bt, false, a.rc != 0)
    }
    fn trans_mtfsb1(&mut self, a: &ArgCrbit) -> TResult {
        self.mtfsb(a.bt, true, a.rc != 0)
    }
}
