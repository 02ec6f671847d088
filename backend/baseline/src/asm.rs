//! A small x86-64 assembler: the instruction forms the baseline compiler emits, encoded
//! straight into a byte buffer, with labels for forward and backward jumps. The scalar
//! floating-point forms are in [`float`].

mod float;

pub(crate) use float::{FArith, Fp, X, XMM0, XMM1, XMM2};

/// A general-purpose register (hardware number).
pub(crate) type R = u8;

pub(crate) const RAX: R = 0;
pub(crate) const RCX: R = 1;
pub(crate) const RDX: R = 2;
pub(crate) const RBX: R = 3;
pub(crate) const RSP: R = 4;
pub(crate) const RBP: R = 5;
pub(crate) const RSI: R = 6;
pub(crate) const RDI: R = 7;
pub(crate) const R8: R = 8;

/// A memory operand `[base + index + disp]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mem {
    pub(crate) base: R,
    pub(crate) index: Option<R>,
    pub(crate) disp: i32,
}

/// `[base + disp]`.
pub(crate) fn mem(base: R, disp: i32) -> Mem {
    Mem { base, index: None, disp }
}

/// `[base + index + disp]`.
pub(crate) fn mem_idx(base: R, index: R, disp: i32) -> Mem {
    Mem { base, index: Some(index), disp }
}

/// Operand width of an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum W {
    B8,
    B16,
    B32,
    B64,
}

/// Condition codes (the low nibble of `jcc`, `setcc`, `cmovcc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Cc {
    B = 0x2,
    Ae = 0x3,
    E = 0x4,
    Ne = 0x5,
    Be = 0x6,
    A = 0x7,
    L = 0xc,
    Ge = 0xd,
    Le = 0xe,
    G = 0xf,
}

/// Two-operand integer instructions `op r, r/m` (their opcode) and `op r/m, imm` (their
/// `/digit` under 0x81 / 0x83).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alu {
    Add,
    Or,
    And,
    Sub,
    Xor,
    Cmp,
}

impl Alu {
    fn digit(self) -> u8 {
        match self {
            Alu::Add => 0,
            Alu::Or => 1,
            Alu::And => 4,
            Alu::Sub => 5,
            Alu::Xor => 6,
            Alu::Cmp => 7,
        }
    }

    /// Opcode of the `r, r/m` form.
    fn rm_opcode(self) -> u8 {
        self.digit() * 8 + 3
    }
}

/// Shift and rotate instructions (`/digit` under 0xD3 / 0xC1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shift {
    Rol = 0,
    Ror = 1,
    Shl = 4,
    Shr = 5,
    Sar = 7,
}

/// Bit-modifying instructions with an immediate bit number (`/digit` under 0F BA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bt {
    Btr = 6,
    Btc = 7,
}

/// A jump target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Label(u32);

/// The code buffer.
#[derive(Default)]
pub(crate) struct Asm {
    pub(crate) buf: Vec<u8>,
    /// Bound offset of each label (`u32::MAX` while unbound).
    labels: Vec<u32>,
    /// rel32 fields to patch: (offset of the field, label).
    fixups: Vec<(u32, Label)>,
    /// rel32 fields of calls to absolute addresses, patched once the code's address is known:
    /// (offset of the field, target).
    pub(crate) far: Vec<(u32, u64)>,
}

/// The ModRM r/m operand: a register or memory.
#[derive(Clone, Copy)]
enum Rm {
    Reg(R),
    Mem(Mem),
}

impl Asm {
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.labels.clear();
        self.fixups.clear();
        self.far.clear();
    }

    /// Copies the code to `dst`, resolving the calls to absolute addresses.
    ///
    /// # Safety
    /// `dst` must be writable for `self.buf.len()` bytes, and every far target within
    /// ±2 GiB of it.
    pub(crate) unsafe fn install(&self, dst: *mut u8) {
        // SAFETY: caller's contract.
        unsafe { std::ptr::copy_nonoverlapping(self.buf.as_ptr(), dst, self.buf.len()) };
        for &(at, target) in &self.far {
            let rel = target.wrapping_sub(dst as u64 + at as u64 + 4) as i64;
            let rel = i32::try_from(rel).expect("far call targets are in the same arena");
            // SAFETY: the field lies inside the code just copied.
            unsafe { (dst.add(at as usize) as *mut i32).write_unaligned(rel) };
        }
    }

    pub(crate) fn new_label(&mut self) -> Label {
        self.labels.push(u32::MAX);
        Label(self.labels.len() as u32 - 1)
    }

    pub(crate) fn bind(&mut self, l: Label) {
        self.labels[l.0 as usize] = self.buf.len() as u32;
    }

    /// Patches every jump to its label. Every used label must be bound.
    pub(crate) fn finish(&mut self) {
        for &(at, l) in &self.fixups {
            let target = self.labels[l.0 as usize];
            debug_assert!(target != u32::MAX, "unbound label");
            let rel = target as i64 - (at as i64 + 4);
            self.buf[at as usize..at as usize + 4].copy_from_slice(&(rel as i32).to_le_bytes());
        }
    }

    fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    fn imm32(&mut self, v: i32) {
        self.bytes(&v.to_le_bytes());
    }

    /// Emits prefix, REX, opcode, ModRM (+SIB, displacement) for `reg` and `rm`. With `W::B8`
    /// the operands are 8-bit registers: a REX is added so that 4-7 mean spl..dil.
    fn inst(&mut self, w: W, opcode: &[u8], reg: u8, rm: Rm) {
        self.inst_p((w == W::B16).then_some(0x66), w, opcode, reg, rm);
    }

    /// [`Self::inst`] with a mandatory `prefix` (SSE's 66/F2/F3), which goes before the REX.
    fn inst_p(&mut self, prefix: Option<u8>, w: W, opcode: &[u8], reg: u8, rm: Rm) {
        if let Some(p) = prefix {
            self.byte(p);
        }
        let (b, x) = match rm {
            Rm::Reg(r) => (r, 0),
            Rm::Mem(m) => (m.base, m.index.unwrap_or(0)),
        };
        let rex = 0x40 | ((w == W::B64) as u8) << 3 | (reg >> 3 & 1) << 2 | (x >> 3 & 1) << 1 | (b >> 3 & 1);
        let byte_reg = w == W::B8 && (matches!(rm, Rm::Reg(r) if r >= 4) || reg >= 4);
        if rex != 0x40 || byte_reg {
            self.byte(rex);
        }
        self.bytes(opcode);
        self.modrm(reg, rm);
    }

    /// The ModRM byte (+SIB, displacement) for `reg` and `rm` (the low three bits of each;
    /// the prefix carries the fourth).
    fn modrm(&mut self, reg: u8, rm: Rm) {
        let reg = reg & 7;
        match rm {
            Rm::Reg(r) => self.byte(0xc0 | reg << 3 | (r & 7)),
            Rm::Mem(m) => {
                let disp_mode = if m.disp == 0 && m.base & 7 != RBP {
                    0
                } else if i8::try_from(m.disp).is_ok() {
                    1
                } else {
                    2
                };
                match m.index {
                    None if m.base & 7 != RSP => self.byte(disp_mode << 6 | reg << 3 | (m.base & 7)),
                    None => {
                        self.byte(disp_mode << 6 | reg << 3 | 4);
                        self.byte(0x24);
                    }
                    Some(i) => {
                        debug_assert!(i != RSP, "rsp cannot index");
                        self.byte(disp_mode << 6 | reg << 3 | 4);
                        self.byte((i & 7) << 3 | (m.base & 7));
                    }
                }
                match disp_mode {
                    0 => {}
                    1 => self.byte(m.disp as i8 as u8),
                    _ => self.imm32(m.disp),
                }
            }
        }
    }

    // ---- moves ----

    /// `mov dst, src` (64-bit).
    pub(crate) fn mov_rr(&mut self, dst: R, src: R) {
        self.inst(W::B64, &[0x8b], dst, Rm::Reg(src));
    }

    /// `mov dst32, src32` (zero-extends).
    pub(crate) fn mov_rr32(&mut self, dst: R, src: R) {
        self.inst(W::B32, &[0x8b], dst, Rm::Reg(src));
    }

    /// Loads `w` bits from `m` into `dst`, zero-extended to 64.
    pub(crate) fn load(&mut self, w: W, dst: R, m: Mem) {
        match w {
            W::B8 => self.inst(W::B32, &[0x0f, 0xb6], dst, Rm::Mem(m)),
            W::B16 => self.inst(W::B32, &[0x0f, 0xb7], dst, Rm::Mem(m)),
            W::B32 => self.inst(W::B32, &[0x8b], dst, Rm::Mem(m)),
            W::B64 => self.inst(W::B64, &[0x8b], dst, Rm::Mem(m)),
        }
    }

    /// Stores the low `w` bits of `src` to `m`.
    pub(crate) fn store(&mut self, w: W, m: Mem, src: R) {
        match w {
            W::B8 => self.inst(W::B8, &[0x88], src, Rm::Mem(m)),
            _ => self.inst(w, &[0x89], src, Rm::Mem(m)),
        }
    }

    /// `mov qword [m], simm32`.
    pub(crate) fn store_imm64(&mut self, m: Mem, v: i32) {
        self.inst(W::B64, &[0xc7], 0, Rm::Mem(m));
        self.imm32(v);
    }

    /// Sets `dst` to `v` in the shortest form.
    pub(crate) fn mov_imm(&mut self, dst: R, v: u64) {
        if v == 0 {
            self.alu_rr(W::B32, Alu::Xor, dst, dst);
        } else if v <= u32::MAX as u64 {
            if dst >= 8 {
                self.byte(0x41);
            }
            self.byte(0xb8 + (dst & 7));
            self.imm32(v as u32 as i32);
        } else if i32::try_from(v as i64).is_ok() {
            self.inst(W::B64, &[0xc7], 0, Rm::Reg(dst));
            self.imm32(v as i64 as i32);
        } else {
            self.byte(0x48 | (dst >> 3 & 1));
            self.byte(0xb8 + (dst & 7));
            self.bytes(&v.to_le_bytes());
        }
    }

    /// Sign-extends the low `from` bits of `src` into `dst` (64-bit).
    pub(crate) fn movsx(&mut self, from: W, dst: R, src: R) {
        match from {
            W::B8 => self.inst(W::B64, &[0x0f, 0xbe], dst, Rm::Reg(src)),
            W::B16 => self.inst(W::B64, &[0x0f, 0xbf], dst, Rm::Reg(src)),
            W::B32 => self.inst(W::B64, &[0x63], dst, Rm::Reg(src)),
            W::B64 => self.mov_rr(dst, src),
        }
    }

    /// Zero-extends the low 8 bits of `src` into `dst`.
    pub(crate) fn movzx8(&mut self, dst: R, src: R) {
        self.inst(W::B8, &[0x0f, 0xb6], dst, Rm::Reg(src));
        // (The B8 width only forces a REX for sil/dil; the operation itself is 32-bit.)
    }

    /// `lea dst, [m]`.
    pub(crate) fn lea(&mut self, dst: R, m: Mem) {
        self.inst(W::B64, &[0x8d], dst, Rm::Mem(m));
    }

    // ---- arithmetic ----

    /// `op dst, src`.
    pub(crate) fn alu_rr(&mut self, w: W, op: Alu, dst: R, src: R) {
        self.inst(w, &[op.rm_opcode()], dst, Rm::Reg(src));
    }

    /// `op dst, [m]`.
    pub(crate) fn alu_rm(&mut self, w: W, op: Alu, dst: R, m: Mem) {
        self.inst(w, &[op.rm_opcode()], dst, Rm::Mem(m));
    }

    /// `op dst, simm32` (sign-extended to 64 bits for 64-bit operations).
    pub(crate) fn alu_ri(&mut self, w: W, op: Alu, dst: R, v: i32) {
        self.alu_imm(w, op, Rm::Reg(dst), v);
    }

    /// `op w [m], simm32`.
    pub(crate) fn alu_mi(&mut self, w: W, op: Alu, m: Mem, v: i32) {
        self.alu_imm(w, op, Rm::Mem(m), v);
    }

    fn alu_imm(&mut self, w: W, op: Alu, rm: Rm, v: i32) {
        if let Ok(b) = i8::try_from(v) {
            self.inst(w, &[0x83], op.digit(), rm);
            self.byte(b as u8);
        } else {
            self.inst(w, &[0x81], op.digit(), rm);
            self.imm32(v);
        }
    }

    /// `test a, b`.
    pub(crate) fn test_rr(&mut self, w: W, a: R, b: R) {
        self.inst(w, &[0x85], b, Rm::Reg(a));
    }

    /// `test r8, imm8` on `al`..`bl`-style registers (`r` < 4 or a REX-able one).
    pub(crate) fn test_r8_imm(&mut self, r: R, v: u8) {
        self.inst(W::B8, &[0xf6], 0, Rm::Reg(r));
        self.byte(v);
    }

    /// `imul dst, src`.
    pub(crate) fn imul_rr(&mut self, w: W, dst: R, src: R) {
        self.inst(w, &[0x0f, 0xaf], dst, Rm::Reg(src));
    }

    /// `mul src` (unsigned) or `imul src` (signed), 64-bit: `rdx:rax = rax * src`.
    pub(crate) fn mul_wide(&mut self, signed: bool, src: R) {
        self.inst(W::B64, &[0xf7], 4 + signed as u8, Rm::Reg(src));
    }

    /// `shift dst, cl`.
    pub(crate) fn shift_cl(&mut self, w: W, op: Shift, dst: R) {
        self.inst(w, &[0xd3], op as u8, Rm::Reg(dst));
    }

    /// `shift dst, imm8`.
    pub(crate) fn shift_imm(&mut self, w: W, op: Shift, dst: R, n: u8) {
        self.inst(w, &[0xc1], op as u8, Rm::Reg(dst));
        self.byte(n);
    }

    /// `bt{r,c} dst, n`: clears or flips bit `n`.
    pub(crate) fn bt_imm(&mut self, w: W, op: Bt, dst: R, n: u8) {
        self.inst(w, &[0x0f, 0xba], op as u8, Rm::Reg(dst));
        self.byte(n);
    }

    /// `neg dst`.
    pub(crate) fn neg(&mut self, w: W, dst: R) {
        self.inst(w, &[0xf7], 3, Rm::Reg(dst));
    }

    /// `not dst`.
    pub(crate) fn not(&mut self, w: W, dst: R) {
        self.inst(w, &[0xf7], 2, Rm::Reg(dst));
    }

    /// `bswap dst` (32 or 64 bits; no ModRM byte).
    pub(crate) fn bswap(&mut self, w: W, dst: R) {
        let rex = 0x40 | ((w == W::B64) as u8) << 3 | (dst >> 3 & 1);
        if rex != 0x40 {
            self.byte(rex);
        }
        self.bytes(&[0x0f, 0xc8 + (dst & 7)]);
    }

    /// `setcc dst8`.
    pub(crate) fn setcc(&mut self, cc: Cc, dst: R) {
        self.inst(W::B8, &[0x0f, 0x90 + cc as u8], 0, Rm::Reg(dst));
    }

    /// `cmovcc dst, src` (64-bit).
    pub(crate) fn cmov(&mut self, cc: Cc, dst: R, src: R) {
        self.inst(W::B64, &[0x0f, 0x40 + cc as u8], dst, Rm::Reg(src));
    }

    // ---- control ----

    /// `push r`.
    pub(crate) fn push(&mut self, r: R) {
        if r >= 8 {
            self.byte(0x41);
        }
        self.byte(0x50 + (r & 7));
    }

    /// `pop r`.
    pub(crate) fn pop(&mut self, r: R) {
        if r >= 8 {
            self.byte(0x41);
        }
        self.byte(0x58 + (r & 7));
    }

    pub(crate) fn ret(&mut self) {
        self.byte(0xc3);
    }

    /// `call r`.
    pub(crate) fn call_r(&mut self, r: R) {
        self.inst(W::B32, &[0xff], 2, Rm::Reg(r));
    }

    /// `jmp r`.
    pub(crate) fn jmp_r(&mut self, r: R) {
        self.inst(W::B32, &[0xff], 4, Rm::Reg(r));
    }

    /// `call target` (rel32; resolved by [`Self::install`]).
    pub(crate) fn call_far(&mut self, target: u64) {
        self.byte(0xe8);
        self.far.push((self.buf.len() as u32, target));
        self.imm32(0);
    }

    /// `jmp label`.
    pub(crate) fn jmp(&mut self, l: Label) {
        self.byte(0xe9);
        self.rel32(l);
    }

    /// `jcc label`.
    pub(crate) fn jcc(&mut self, cc: Cc, l: Label) {
        self.bytes(&[0x0f, 0x80 + cc as u8]);
        self.rel32(l);
    }

    fn rel32(&mut self, l: Label) {
        self.fixups.push((self.buf.len() as u32, l));
        self.imm32(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instruction as GNU as writes it, the form that emits it, and the bytes as 2.40 gives.
    pub(super) type Case = (&'static str, fn(&mut Asm), &'static [u8]);

    /// Checks each case's bytes.
    pub(super) fn check(cases: &[Case]) {
        for (text, emit, want) in cases {
            let mut a = Asm::default();
            emit(&mut a);
            assert_eq!(a.buf, *want, "{text}");
        }
    }

    #[test]
    fn integer_forms_encode_as_gnu_as_does() {
        check(&[
            ("btc rax, 63", |a| a.bt_imm(W::B64, Bt::Btc, RAX, 63), &[0x48, 0x0f, 0xba, 0xf8, 0x3f]),
            ("btr eax, 31", |a| a.bt_imm(W::B32, Bt::Btr, RAX, 31), &[0x0f, 0xba, 0xf0, 0x1f]),
            ("btc ecx, 31", |a| a.bt_imm(W::B32, Bt::Btc, RCX, 31), &[0x0f, 0xba, 0xf9, 0x1f]),
            ("btr r8, 63", |a| a.bt_imm(W::B64, Bt::Btr, R8, 63), &[0x49, 0x0f, 0xba, 0xf0, 0x3f]),
            ("mul rcx", |a| a.mul_wide(false, RCX), &[0x48, 0xf7, 0xe1]),
            ("imul rcx", |a| a.mul_wide(true, RCX), &[0x48, 0xf7, 0xe9]),
            ("mul r8", |a| a.mul_wide(false, R8), &[0x49, 0xf7, 0xe0]),
            ("movsxd rcx, ecx", |a| a.movsx(W::B32, RCX, RCX), &[0x48, 0x63, 0xc9]),
            ("imul rax, rcx", |a| a.imul_rr(W::B64, RAX, RCX), &[0x48, 0x0f, 0xaf, 0xc1]),
        ]);
    }
}
