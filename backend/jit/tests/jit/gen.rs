//! A random generator of valid IR blocks over the test guest, covering every opcode and
//! type, control flow inside the block (branches, joins, bounded loops), locals, memory
//! accesses of every shape (TLB hits and misses, page crossings, byte-swapped and code pages,
//! faults), raising helper calls and every kind of exit.

use super::common::{BSWAP_PAGE, CODE_PAGE, FAULT_BASE};
use ferrite_ir::testing::{TestCpu, HELPERS, REGS};
use ferrite_ir::{verify, BbId, Block, Builder, FloatCC, GuestDesc, HelperInfo, IntCC, Local, Opcode, Reg, RegSet, Type, Value};
use ferrite_softmmu::{CpuHeader, Endian, MemOp};

/// `shuffle(k)`: r1 ^= r0 + k, w += 1; returns r3. Raises (after its writes) when k is odd.
unsafe extern "C" fn shuffle(env: *mut CpuHeader, k: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: only called on TestCpu.
    let cpu = unsafe { &mut *(env as *mut TestCpu) };
    cpu.r[1] ^= cpu.r[0].wrapping_add(k);
    cpu.w = cpu.w.wrapping_add(1);
    if k & 1 != 0 {
        cpu.hdr.pending_exit = 1;
    }
    cpu.r[3]
}

/// The test guest's helper plus one that reads and writes registers.
static GEN_HELPERS: [HelperInfo; 3] = [
    HELPERS[0],
    HelperInfo {
        name: "shuffle",
        func: shuffle,
        args: &[Type::I64],
        ret: Type::I64,
        reads: RegSet(0b1011),
        writes: RegSet(0b10010),
        may_raise: true,
    },
    // `bump`: no result (void calls share the interpreter's discard slot).
    HELPERS[1],
];

/// The guest generated blocks are written for (the test CPU's registers).
pub static GEN_DESC: GuestDesc = GuestDesc { name: "gen", regs: &REGS, helpers: &GEN_HELPERS };

/// xorshift64* — small, deterministic, good enough for test inputs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// An integer that exercises edge cases more often than uniform bits would.
    pub fn interesting(&mut self) -> u64 {
        match self.below(10) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => 1 << self.below(64),
            4 => (1 << self.below(64)) - 1,
            5 => 0x8000_0000_0000_0000 >> (8 * self.below(8)),
            6 => self.below(256),
            7 => (self.below(256) as i64 - 128) as u64,
            _ => self.next(),
        }
    }
    /// Float bits (of type `ty`) with special values mixed in.
    pub fn float(&mut self, ty: Type) -> u64 {
        let f64s = [0.0, -0.0, 1.0, -1.5, 0.5, 3.0, 1e300, -1e300, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 2.5e-310, 4294967295.5, -2147483648.7, 9.3e18, 1.8e19, 255.9, -128.5, 65535.2];
        let bits64 = match self.below(4) {
            0 => self.next(),
            _ => self.pick(&f64s).to_bits(),
        };
        match ty {
            Type::F32 => match self.below(4) {
                0 => self.next() & 0xffff_ffff,
                _ => (f64::from_bits(bits64) as f32).to_bits() as u64,
            },
            _ => bits64,
        }
    }
}

const INT_TYPES: [Type; 4] = [Type::I8, Type::I16, Type::I32, Type::I64];
const FLOAT_TYPES: [Type; 2] = [Type::F32, Type::F64];
const INT_BINARY: [Opcode; 17] = [
    Opcode::Add,
    Opcode::Sub,
    Opcode::Mul,
    Opcode::MulHiU,
    Opcode::MulHiS,
    Opcode::DivU,
    Opcode::DivS,
    Opcode::RemU,
    Opcode::RemS,
    Opcode::And,
    Opcode::Or,
    Opcode::Xor,
    Opcode::Shl,
    Opcode::ShrU,
    Opcode::ShrS,
    Opcode::Rotl,
    Opcode::Rotr,
];
const INT_UNARY: [Opcode; 6] = [Opcode::Neg, Opcode::Not, Opcode::Clz, Opcode::Ctz, Opcode::Popcnt, Opcode::Bswap];
const FLOAT_BINARY: [Opcode; 4] = [Opcode::FAdd, Opcode::FSub, Opcode::FMul, Opcode::FDiv];
const FLOAT_UNARY: [Opcode; 3] = [Opcode::FSqrt, Opcode::FNeg, Opcode::FAbs];

/// Generation knobs.
#[derive(Clone, Copy)]
pub struct Config {
    /// Instructions per basic block (upper bound).
    pub max_ops: u64,
    /// Maximum number of basic blocks.
    pub max_bbs: u64,
    /// Whether NaNs may meet in two-operand float operations (their payload choice is
    /// host-specific between the interpreter's and the JIT's instruction selection).
    pub nan_pairs: bool,
    /// Whether guest addresses are 32-bit values zero-extended (as a 32-bit guest's are: the
    /// form that fastmem accesses take).
    pub addr32: bool,
}

pub struct Gen<'a> {
    pub rng: Rng,
    b: Builder<'a>,
    cfg: Config,
    pool: Vec<Value>,
    /// Register-derived address bases of the current basic block (later accesses at small
    /// offsets from one base share a TLB check in the JIT).
    bases: Vec<Value>,
    locals: Vec<Local>,
    pc: u64,
}

/// Generates one verified block from `seed`.
pub fn block(seed: u64, cfg: Config) -> Block {
    block_at(seed, cfg, 0x1000)
}

/// Generates one verified block from `seed` whose code starts at guest PC `pc` (kernel-like
/// addresses do not fit a sign-extended 32-bit immediate).
pub fn block_at(seed: u64, cfg: Config, pc: u64) -> Block {
    let mut blk = Block::new(&GEN_DESC, pc);
    {
        let mut g = Gen { rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1), b: Builder::new(&mut blk), cfg, pool: vec![], bases: vec![], locals: vec![], pc };
        g.body();
    }
    if let Err(e) = verify(&blk) {
        panic!("generator made an invalid block (seed {seed}): {e}\n{}", ferrite_ir::print_block(&blk));
    }
    blk
}

impl Gen<'_> {
    fn ty(&self, v: Value) -> Type {
        self.b.ty(v)
    }

    fn body(&mut self) {
        let n = 1 + self.rng.below(self.cfg.max_bbs);
        let bbs: Vec<BbId> = std::iter::once(BbId(0)).chain((1..n).map(|_| self.b.create_bb())).collect();
        for _ in 0..self.rng.below(4) {
            let t = self.rng.pick(&[Type::I8, Type::I16, Type::I32, Type::I64, Type::F32, Type::F64]);
            let l = self.b.new_local(t);
            self.locals.push(l);
        }
        // A loop counter for at most one backward edge, set once in the entry block.
        let counter = (n > 1 && self.rng.chance(30)).then(|| {
            let c = self.b.new_local(Type::I64);
            let k = self.rng.below(3) + 1;
            let kv = self.b.iconst(Type::I64, k);
            self.b.set_local(c, kv);
            (c, 1 + self.rng.below(n - 1))
        });
        self.insn_start();
        // Which basic blocks start a guest instruction (those may also be `chain` targets).
        let marked: Vec<bool> = (0..n).map(|i| i == 0 || self.rng.chance(60)).collect();
        for i in 0..n as usize {
            self.b.switch_to(bbs[i]);
            self.pool.clear();
            self.bases.clear();
            if i > 0 && marked[i] {
                self.insn_start();
            }
            let ops = self.rng.below(self.cfg.max_ops + 1);
            for _ in 0..ops {
                self.op();
            }
            self.sink_some();
            let later = &bbs[i + 1..];
            match counter {
                Some((c, head)) if i as u64 + 1 == n => {
                    // Loop back to `head` while the counter lasts, then leave.
                    let v = self.b.get_local(c);
                    let v = self.b.add_imm(v, u64::MAX);
                    self.b.set_local(c, v);
                    let z = self.b.icmp_imm(IntCC::Ne, v, 0);
                    let out = self.b.create_bb();
                    self.b.branch(z, bbs[head as usize], out);
                    self.b.switch_to(out);
                    self.pool.clear();
                    self.bases.clear();
                    self.exit();
                }
                _ if !later.is_empty() && self.rng.chance(75) => {
                    let t = self.rng.pick(later);
                    if marked[t.0 as usize] && self.rng.chance(25) {
                        self.b.chain(t);
                    } else if self.rng.chance(50) {
                        self.b.jump(t);
                    } else {
                        let e = self.rng.pick(later);
                        let c = self.cond();
                        self.b.branch(c, t, e);
                    }
                }
                _ => self.exit(),
            }
        }
    }

    fn insn_start(&mut self) {
        self.b.insn_start(self.pc);
        self.pc += 4;
    }

    fn push(&mut self, v: Value) -> Value {
        self.pool.push(v);
        v
    }

    /// A value of type `ty`: an existing one, or a fresh constant, register or local.
    fn get(&mut self, ty: Type) -> Value {
        let have: Vec<Value> = self.pool.iter().copied().filter(|&v| self.ty(v) == ty).collect();
        if !have.is_empty() && self.rng.chance(70) {
            return self.rng.pick(&have);
        }
        let locals: Vec<Local> = self.locals.iter().copied().filter(|&l| self.b.block().locals[l.0 as usize] == ty).collect();
        let v = match self.rng.below(10) {
            0..=3 => match ty {
                Type::F32 | Type::F64 => {
                    let bits = self.rng.float(ty);
                    self.b.iconst(ty, bits)
                }
                _ => {
                    let k = self.rng.interesting();
                    self.b.iconst(ty, k)
                }
            },
            4 | 5 if !locals.is_empty() => {
                let l = self.rng.pick(&locals);
                self.b.get_local(l)
            }
            _ => {
                let r = self.rng.below(5) as u16;
                let v = self.b.get_reg(Reg(r));
                self.reshape(v, ty)
            }
        };
        self.push(v)
    }

    /// Converts an integer register value to `ty`.
    fn reshape(&mut self, v: Value, ty: Type) -> Value {
        let from = self.ty(v);
        match ty {
            _ if ty == from => v,
            Type::F32 | Type::F64 => {
                let i = self.reshape(v, ty.int_of_same_width());
                self.b.bitcast(ty, i)
            }
            _ if ty.bits() < from.bits() => self.b.trunc(ty, v),
            _ => {
                if self.rng.chance(50) {
                    self.b.zext(ty, v)
                } else {
                    self.b.sext(ty, v)
                }
            }
        }
    }

    fn cond(&mut self) -> Value {
        match self.rng.below(4) {
            0 => self.get(Type::I8),
            1 => {
                let t = self.rng.pick(&FLOAT_TYPES);
                let (a, b) = (self.get(t), self.get(t));
                let cc = self.rng.pick(&FloatCC::ALL);
                self.b.fcmp(cc, a, b)
            }
            _ => {
                let t = self.rng.pick(&INT_TYPES);
                let (a, b) = (self.get(t), self.get(t));
                let cc = self.rng.pick(&IntCC::ALL);
                self.b.icmp(cc, a, b)
            }
        }
    }

    /// Writes a few pool values to registers so their values are observed.
    fn sink_some(&mut self) {
        for _ in 0..1 + self.rng.below(3) {
            if self.pool.is_empty() {
                return;
            }
            let v = self.rng.pick(&self.pool.clone());
            self.sink(v);
        }
    }

    fn sink(&mut self, v: Value) {
        let r = self.rng.below(5) as u16;
        let rty = if r == 4 { Type::I32 } else { Type::I64 };
        let ty = self.ty(v);
        let i = if ty.is_float() { self.b.bitcast(ty.int_of_same_width(), v) } else { v };
        let x = self.reshape(i, rty);
        self.b.set_reg(Reg(r), x);
    }

    fn op(&mut self) {
        let b = &mut self.rng;
        match b.below(100) {
            0..=24 => {
                let t = self.rng.pick(&INT_TYPES);
                let op = self.rng.pick(&INT_BINARY);
                let (x, y) = (self.get(t), self.get(t));
                let v = self.b.push(op, t, [x, y, Value::NONE, Value::NONE], 0);
                self.push(v);
            }
            25..=31 => {
                let t = self.rng.pick(&INT_TYPES);
                let op = self.rng.pick(&INT_UNARY);
                let x = self.get(t);
                let v = self.b.push(op, t, [x, Value::NONE, Value::NONE, Value::NONE], 0);
                self.push(v);
            }
            32..=41 => {
                let t = self.rng.pick(&FLOAT_TYPES);
                let (op, n) = match self.rng.below(8) {
                    0..=4 => (self.rng.pick(&FLOAT_BINARY), 2),
                    5 | 6 => (self.rng.pick(&FLOAT_UNARY), 1),
                    _ => (Opcode::Fma, 3),
                };
                let mut args = [Value::NONE; 4];
                for a in args.iter_mut().take(n) {
                    *a = self.get(t);
                }
                if n > 1 && !self.cfg.nan_pairs {
                    // Keep at most one possibly-NaN operand: replace the others by finite constants.
                    for a in args.iter_mut().take(n).skip(1) {
                        let k = if t == Type::F32 { (self.rng.below(2000) as f32 - 1000.0).to_bits() as u64 } else { (self.rng.below(2000) as f64 * 0.75 - 700.0).to_bits() };
                        *a = self.b.iconst(t, k);
                    }
                }
                let v = self.b.push(op, t, args, 0);
                self.push(v);
            }
            42..=47 => {
                let c = self.cond();
                self.push(c);
            }
            48..=51 => {
                let t = self.rng.pick(&[Type::I8, Type::I16, Type::I32, Type::I64, Type::F32, Type::F64]);
                let c = self.get(Type::I8);
                let (x, y) = (self.get(t), self.get(t));
                let v = self.b.select(c, x, y);
                self.push(v);
            }
            52..=55 => {
                let t = self.rng.pick(&INT_TYPES);
                let (x, y) = (self.get(t), self.get(t));
                let c = if self.rng.chance(30) {
                    let k = self.rng.below(2);
                    self.b.iconst(Type::I8, k)
                } else {
                    self.get(Type::I8)
                };
                let v = if self.rng.chance(50) { self.b.add_carry(x, y, c) } else { self.b.add_overflow(x, y, c) };
                self.push(v);
            }
            56..=65 => self.conversion(),
            66..=70 => {
                let v = self.rng.pick(&self.pool.clone().into_iter().chain(std::iter::once(Value::NONE)).collect::<Vec<_>>());
                if v.is_some() {
                    self.sink(v);
                }
            }
            71..=74 => {
                if !self.locals.is_empty() {
                    let l = self.rng.pick(&self.locals.clone());
                    let t = self.b.block().locals[l.0 as usize];
                    let v = self.get(t);
                    self.b.set_local(l, v);
                }
            }
            75..=84 => self.load(),
            85..=92 => self.store(),
            93..=95 => self.call(),
            _ => self.insn_start(),
        }
    }

    fn conversion(&mut self) {
        let (op, from, to) = match self.rng.below(8) {
            0 | 1 => {
                let a = self.rng.below(4) as usize;
                let c = self.rng.below(4) as usize;
                let (lo, hi) = (a.min(c), a.max(c));
                if lo == hi {
                    return;
                }
                let op = self.rng.pick(&[Opcode::Zext, Opcode::Sext]);
                if self.rng.chance(50) {
                    (op, INT_TYPES[lo], INT_TYPES[hi])
                } else {
                    (Opcode::Trunc, INT_TYPES[hi], INT_TYPES[lo])
                }
            }
            2 => {
                let (f, t) = self.rng.pick(&[(Type::I32, Type::F32), (Type::F32, Type::I32), (Type::I64, Type::F64), (Type::F64, Type::I64)]);
                (Opcode::Bitcast, f, t)
            }
            3 => self.rng.pick(&[(Opcode::FPromote, Type::F32, Type::F64), (Opcode::FDemote, Type::F64, Type::F32)]),
            4 | 5 => {
                let op = self.rng.pick(&[Opcode::FToSI, Opcode::FToUI]);
                (op, self.rng.pick(&FLOAT_TYPES), self.rng.pick(&INT_TYPES))
            }
            _ => {
                let op = self.rng.pick(&[Opcode::SIToF, Opcode::UIToF]);
                (op, self.rng.pick(&INT_TYPES), self.rng.pick(&FLOAT_TYPES))
            }
        };
        let x = self.get(from);
        let v = self.b.push(op, to, [x, Value::NONE, Value::NONE, Value::NONE], 0);
        self.push(v);
    }

    /// A guest address: TLB-warm or cold RAM, page crossings, special pages, faults, or a
    /// register-derived address.
    fn address(&mut self, size: u64) -> Value {
        let a = self.address64(size);
        if !self.cfg.addr32 {
            return a;
        }
        let low = self.b.push(Opcode::Trunc, Type::I32, [a, Value::NONE, Value::NONE, Value::NONE], 0);
        self.b.push(Opcode::Zext, Type::I64, [low, Value::NONE, Value::NONE, Value::NONE], 0)
    }

    /// [`Self::address`] as a 64-bit value.
    fn address64(&mut self, size: u64) -> Value {
        let a = match self.rng.below(12) {
            0..=3 => 0x10000 + self.rng.below(0x3000),
            4 => 0x11000 - self.rng.below(size + 1),
            5 => 0x13000 - 1 - self.rng.below(size),
            6 => 0x20000 + self.rng.below(0x1000),
            7 if self.rng.chance(50) => BSWAP_PAGE + self.rng.below(0x1000),
            7 => BSWAP_PAGE - 1 - self.rng.below(size),
            8 if self.rng.chance(50) => CODE_PAGE + self.rng.below(0x1000),
            8 => CODE_PAGE - 1 - self.rng.below(size),
            9 => {
                if self.rng.chance(70) {
                    FAULT_BASE + self.rng.below(0x1000)
                } else {
                    // Crossing from unassigned memory into the faulting region.
                    FAULT_BASE - 1 - self.rng.below(size)
                }
            }
            _ if !self.bases.is_empty() && self.rng.chance(60) => {
                // Near an earlier access's base: same page mostly, sometimes the next.
                let base = self.rng.pick(&self.bases);
                let off = if self.rng.chance(80) { self.rng.below(64) } else { self.rng.below(0x1000) };
                return self.b.add_imm(base, 0x10000 + off);
            }
            _ => {
                let r = self.b.get_reg(Reg(self.rng.below(4) as u16));
                let off = self.b.and_imm(r, 0x1fff);
                self.bases.push(off);
                return self.b.add_imm(off, 0x10000);
            }
        };
        self.b.iconst(Type::I64, a)
    }

    fn memop(&mut self, ty: Type) -> MemOp {
        let size_log2 = if ty.is_float() { ty.bytes().trailing_zeros() } else { self.rng.below(ty.bytes().trailing_zeros() as u64 + 1) as u32 };
        let signed = ty.is_int() && self.rng.chance(50);
        let endian = if self.rng.chance(60) { Endian::Big } else { Endian::Little };
        let mmu = if self.rng.chance(85) { 0 } else { 1 };
        MemOp::new(size_log2, signed, endian, mmu)
    }

    fn load(&mut self) {
        let ty = self.rng.pick(&[Type::I8, Type::I16, Type::I32, Type::I64, Type::I64, Type::I32, Type::F32, Type::F64]);
        let op = self.memop(ty);
        let a = self.address(op.size());
        let v = self.b.load(ty, op, a);
        self.push(v);
    }

    fn store(&mut self) {
        let ty = self.rng.pick(&[Type::I8, Type::I16, Type::I32, Type::I64, Type::I64, Type::I32, Type::F32, Type::F64]);
        let op = self.memop(ty);
        let v = self.get(ty);
        let a = self.address(op.size());
        self.b.store(op, a, v);
    }

    fn call(&mut self) {
        if self.rng.chance(20) {
            self.b.call(2, &[]);
            return;
        }
        if self.rng.chance(40) {
            let k = self.get(Type::I64);
            let v = self.b.call(1, &[k]);
            self.push(v);
            return;
        }
        let a = if self.rng.chance(30) { self.b.iconst(Type::I64, 0xdead) } else { self.get(Type::I64) };
        let (x, y) = (self.get(Type::I64), self.get(Type::I64));
        let v = self.b.call(0, &[a, x, y]);
        self.push(v);
    }

    fn exit(&mut self) {
        match self.rng.below(7) {
            0 | 1 => {
                let pc = self.rng.pick(&[0x2000, 0x3000, 0x4000]);
                self.b.exit_direct(pc);
            }
            2 => {
                let v = self.get(Type::I64);
                self.b.exit_dynamic(v);
            }
            3 => {
                let pc = self.rng.next();
                self.b.exit_sync(pc);
            }
            4 => {
                let v = self.get(Type::I64);
                self.b.exit_sync_dynamic(v);
            }
            5 => {
                let aux = self.get(Type::I64);
                let code = self.rng.below(1 << 20);
                self.b.raise(code, aux);
            }
            _ => {
                let pc = self.rng.next();
                self.b.halt(pc);
            }
        }
    }
}
