//! The IR opcode table: the single source of truth for every opcode's name, signature class,
//! flags and meaning. The `Opcode` enum, its metadata, and the builder methods of the regular
//! signature classes are generated from it; the verifier, printer, interpreter, passes and the
//! JIT match on `Opcode` exhaustively, so adding an opcode gives a compiler-driven checklist
//! (see `docs/howto/add-ir-op.md`).

use crate::{Builder, Type, Value};

/// Signature class of an opcode: operand and result shapes the verifier checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sig {
    /// `imm` holds the bits of a value of the instruction's type.
    Const,
    /// Reads guest register `imm`; result has the register's type.
    GetReg,
    /// Writes `args[0]` to guest register `imm` (same type).
    SetReg,
    /// Reads block-local variable `imm`.
    GetLocal,
    /// Writes `args[0]` to block-local variable `imm`.
    SetLocal,
    /// One operand, result of the same type.
    Unary,
    /// Two operands of one type, result of that type.
    Binary,
    /// Three operands of one type, result of that type.
    Ternary,
    /// Two integer operands of one type compared with the condition in `imm`; result `i8` 0/1.
    ICmp,
    /// Two float operands of one type compared with the condition in `imm`; result `i8` 0/1.
    FCmp,
    /// `args[0]` (`i8`) selects `args[1]` (non-zero) or `args[2]`; result their type.
    Select,
    /// One operand converted to the instruction's type.
    Convert,
    /// Integer operands `a`, `b` of one type and a carry-in `c` (`i8`); result `i8`.
    Carry,
    /// Guest memory load: `imm` is a `MemOp`, `args[0]` the `i64` virtual address.
    Load,
    /// Guest memory store: `imm` is a `MemOp`, `args[0]` the address, `args[1]` the value.
    Store,
    /// Helper call: `imm` is the helper index, up to four operands.
    Call,
    /// Marks the start of the guest instruction at PC `imm`.
    Marker,
    /// No operation (what passes leave behind).
    Nop,
    /// Terminator: go to basic block `imm`.
    Jump,
    /// Terminator: `args[0]` (`i8`) non-zero goes to block `imm & 0xffff_ffff`, else `imm >> 32`.
    Branch,
    /// Terminator leaving the block for guest PC `imm`.
    ExitImm,
    /// Terminator leaving the block for the guest PC in `args[0]` (`i64`).
    ExitDyn,
    /// Terminator raising guest exception `imm` (frontend-defined) with detail `args[0]` (`i64`).
    Raise,
}

/// Flag: no side effects; removable when unused.
pub const PURE: u8 = 1 << 0;
/// Flag: ends a basic block.
pub const TERMINATOR: u8 = 1 << 1;
/// Flag: may leave the block early with a guest exception (faulting access, raising helper).
pub const MAY_EXIT: u8 = 1 << 2;
/// Flag: accesses guest memory.
pub const MEMORY: u8 = 1 << 3;
/// Flag: a terminator that leaves the guest block (as opposed to jumping inside it).
pub const LEAVES: u8 = 1 << 4;

macro_rules! opcodes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $text:literal, $method:tt, $sig:ident, $flags:expr; )*) => {
        /// An IR opcode. See each variant for its meaning.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Opcode {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$variant),*];

            /// Text name used by the printer and parser.
            pub const fn name(self) -> &'static str {
                match self { $(Opcode::$variant => $text),* }
            }

            /// Signature class.
            pub const fn sig(self) -> Sig {
                match self { $(Opcode::$variant => Sig::$sig),* }
            }

            /// Flags (`PURE`, `TERMINATOR`, `MAY_EXIT`, `MEMORY`, `LEAVES`).
            pub const fn flags(self) -> u8 {
                match self { $(Opcode::$variant => $flags),* }
            }

            /// The documentation of the opcode.
            pub const fn doc(self) -> &'static str {
                match self { $(Opcode::$variant => concat!($($doc, "\n"),*)),* }
            }

            /// Looks an opcode up by its text name.
            pub fn from_name(s: &str) -> Option<Opcode> {
                match s { $($text => Some(Opcode::$variant),)* _ => None }
            }
        }

        impl Builder<'_> {
            $( opcodes!(@method $method $variant $sig $(#[doc = $doc])*); )*
        }
    };
    (@method - $variant:ident $sig:ident $(#[doc = $doc:literal])*) => {};
    (@method $m:ident $variant:ident Unary $(#[doc = $doc:literal])*) => {
        $(#[doc = $doc])*
        pub fn $m(&mut self, a: Value) -> Value { let t = self.ty(a); self.push(Opcode::$variant, t, [a, Value::NONE, Value::NONE, Value::NONE], 0) }
    };
    (@method $m:ident $variant:ident Binary $(#[doc = $doc:literal])*) => {
        $(#[doc = $doc])*
        pub fn $m(&mut self, a: Value, b: Value) -> Value { let t = self.ty(a); self.push(Opcode::$variant, t, [a, b, Value::NONE, Value::NONE], 0) }
    };
    (@method $m:ident $variant:ident Ternary $(#[doc = $doc:literal])*) => {
        $(#[doc = $doc])*
        pub fn $m(&mut self, a: Value, b: Value, c: Value) -> Value { let t = self.ty(a); self.push(Opcode::$variant, t, [a, b, c, Value::NONE], 0) }
    };
    (@method $m:ident $variant:ident Carry $(#[doc = $doc:literal])*) => {
        $(#[doc = $doc])*
        pub fn $m(&mut self, a: Value, b: Value, carry_in: Value) -> Value { self.push(Opcode::$variant, Type::I8, [a, b, carry_in, Value::NONE], 0) }
    };
    (@method $m:ident $variant:ident Convert $(#[doc = $doc:literal])*) => {
        $(#[doc = $doc])*
        pub fn $m(&mut self, to: Type, a: Value) -> Value { self.push(Opcode::$variant, to, [a, Value::NONE, Value::NONE, Value::NONE], 0) }
    };
}

opcodes! {
    // ---- values, registers, locals ----
    /// A constant; `imm` holds its bits (floats as IEEE bit patterns).
    Const = "const", -, Const, PURE;
    /// Reads a guest register.
    GetReg = "get_reg", -, GetReg, PURE;
    /// Writes a guest register.
    SetReg = "set_reg", -, SetReg, 0;
    /// Reads a block-local variable (carries values between basic blocks).
    GetLocal = "get_local", -, GetLocal, PURE;
    /// Writes a block-local variable.
    SetLocal = "set_local", -, SetLocal, 0;

    // ---- integer arithmetic (wrapping) ----
    /// a + b.
    Add = "add", add, Binary, PURE;
    /// a - b.
    Sub = "sub", sub, Binary, PURE;
    /// a * b, low half.
    Mul = "mul", mul, Binary, PURE;
    /// High half of the unsigned double-width product.
    MulHiU = "mulhiu", mulhiu, Binary, PURE;
    /// High half of the signed double-width product.
    MulHiS = "mulhis", mulhis, Binary, PURE;
    /// Unsigned a / b; division by zero gives all ones (RISC-V rule, never traps).
    DivU = "divu", divu, Binary, PURE;
    /// Signed a / b; by zero gives -1, MIN / -1 gives MIN (never traps).
    DivS = "divs", divs, Binary, PURE;
    /// Unsigned a % b; by zero gives a.
    RemU = "remu", remu, Binary, PURE;
    /// Signed a % b; by zero gives a, MIN % -1 gives 0.
    RemS = "rems", rems, Binary, PURE;
    /// Two's-complement negation.
    Neg = "neg", neg, Unary, PURE;

    // ---- logic, shifts, bits ----
    /// Bitwise and.
    And = "and", and, Binary, PURE;
    /// Bitwise or.
    Or = "or", or, Binary, PURE;
    /// Bitwise exclusive or.
    Xor = "xor", xor, Binary, PURE;
    /// Bitwise complement.
    Not = "not", not, Unary, PURE;
    /// a << (b mod width).
    Shl = "shl", shl, Binary, PURE;
    /// Logical a >> (b mod width).
    ShrU = "shru", shru, Binary, PURE;
    /// Arithmetic a >> (b mod width).
    ShrS = "shrs", shrs, Binary, PURE;
    /// Rotate left by b mod width.
    Rotl = "rotl", rotl, Binary, PURE;
    /// Rotate right by b mod width.
    Rotr = "rotr", rotr, Binary, PURE;
    /// Count leading zeros (width for 0).
    Clz = "clz", clz, Unary, PURE;
    /// Count trailing zeros (width for 0).
    Ctz = "ctz", ctz, Unary, PURE;
    /// Population count.
    Popcnt = "popcnt", popcnt, Unary, PURE;
    /// Byte swap.
    Bswap = "bswap", bswap, Unary, PURE;

    // ---- comparisons, selection, flags ----
    /// Integer comparison with an `IntCC` in `imm`.
    Icmp = "icmp", -, ICmp, PURE;
    /// Float comparison with a `FloatCC` in `imm`.
    Fcmp = "fcmp", -, FCmp, PURE;
    /// c ? a : b.
    Select = "select", -, Select, PURE;
    /// Carry out of the unsigned sum a + b + c.
    AddCarry = "add_carry", add_carry, Carry, PURE;
    /// Signed overflow of the sum a + b + c.
    AddOverflow = "add_overflow", add_overflow, Carry, PURE;

    // ---- conversions ----
    /// Zero-extends an integer to a wider type.
    Zext = "zext", zext, Convert, PURE;
    /// Sign-extends an integer to a wider type.
    Sext = "sext", sext, Convert, PURE;
    /// Keeps the low bits of an integer.
    Trunc = "trunc", trunc, Convert, PURE;
    /// Reinterprets the bits as another type of the same width.
    Bitcast = "bitcast", bitcast, Convert, PURE;
    /// f32 to f64 (exact).
    FPromote = "fpromote", fpromote, Convert, PURE;
    /// f64 to f32, rounded to nearest even.
    FDemote = "fdemote", fdemote, Convert, PURE;
    /// Float to signed integer, rounding toward zero, saturating; NaN gives 0.
    FToSI = "ftosi", ftosi, Convert, PURE;
    /// Float to unsigned integer, rounding toward zero, saturating; NaN gives 0.
    FToUI = "ftoui", ftoui, Convert, PURE;
    /// Signed integer to float, rounded to nearest even.
    SIToF = "sitof", sitof, Convert, PURE;
    /// Unsigned integer to float, rounded to nearest even.
    UIToF = "uitof", uitof, Convert, PURE;

    // ---- floating point (IEEE, round to nearest even, host NaN propagation) ----
    /// a + b.
    FAdd = "fadd", fadd, Binary, PURE;
    /// a - b.
    FSub = "fsub", fsub, Binary, PURE;
    /// a * b.
    FMul = "fmul", fmul, Binary, PURE;
    /// a / b.
    FDiv = "fdiv", fdiv, Binary, PURE;
    /// a * b + c with one rounding.
    Fma = "fma", fma, Ternary, PURE;
    /// Square root.
    FSqrt = "fsqrt", fsqrt, Unary, PURE;
    /// Flips the sign bit.
    FNeg = "fneg", fneg, Unary, PURE;
    /// Clears the sign bit.
    FAbs = "fabs", fabs, Unary, PURE;

    // ---- memory and helpers ----
    /// Guest memory load through the soft MMU; may fault.
    Load = "load", -, Load, MAY_EXIT | MEMORY;
    /// Guest memory store through the soft MMU; may fault.
    Store = "store", -, Store, MAY_EXIT | MEMORY;
    /// Calls a frontend helper (its descriptor says what it reads, writes and whether it may raise).
    Call = "call", -, Call, 0;
    /// Start of a guest instruction at PC `imm`.
    InsnStart = "insn_start", -, Marker, 0;
    /// Nothing (left by passes).
    Nop = "nop", -, Nop, PURE;

    // ---- terminators ----
    /// Goes to another basic block of this IR block.
    Jump = "jump", -, Jump, TERMINATOR;
    /// Conditional jump between two basic blocks.
    Branch = "branch", -, Branch, TERMINATOR;
    /// Goes to basic block `imm`, the entry of another guest block merged into this one (a
    /// region, see `region::merge`); it starts with `insn_start`. When the CPU has an exit
    /// request pending it leaves for that instruction's PC instead, so that loops through
    /// merged blocks stay interruptible.
    Chain = "chain", -, Jump, TERMINATOR;
    /// Leaves for a known guest PC in the same CPU mode; may be linked to the next block.
    ExitDirect = "exit_direct", -, ExitImm, TERMINATOR | LEAVES;
    /// Leaves for a computed guest PC in the same CPU mode; probes the jump cache.
    ExitDynamic = "exit_dynamic", -, ExitDyn, TERMINATOR | LEAVES;
    /// Leaves to the run loop because the CPU mode or translation may have changed.
    ExitSync = "exit_sync", -, ExitImm, TERMINATOR | LEAVES;
    /// Leaves to the run loop, which re-evaluates a computed PC with the new CPU mode.
    ExitSyncDynamic = "exit_sync_dynamic", -, ExitDyn, TERMINATOR | LEAVES;
    /// Raises a guest exception at the current instruction.
    Raise = "raise", -, Raise, TERMINATOR | LEAVES;
    /// Stops the CPU until an interrupt (wait); resumes at PC `imm`.
    Halt = "halt", -, ExitImm, TERMINATOR | LEAVES;
}

/// Integer comparison conditions (the `imm` of `icmp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum IntCC {
    /// a == b
    Eq,
    /// a != b
    Ne,
    /// signed a < b
    Slt,
    /// signed a <= b
    Sle,
    /// signed a > b
    Sgt,
    /// signed a >= b
    Sge,
    /// unsigned a < b
    Ult,
    /// unsigned a <= b
    Ule,
    /// unsigned a > b
    Ugt,
    /// unsigned a >= b
    Uge,
}

impl IntCC {
    /// All conditions, indexed by their `imm` encoding.
    pub const ALL: [IntCC; 10] =
        [IntCC::Eq, IntCC::Ne, IntCC::Slt, IntCC::Sle, IntCC::Sgt, IntCC::Sge, IntCC::Ult, IntCC::Ule, IntCC::Ugt, IntCC::Uge];
    /// Decodes an `imm`.
    pub fn from_imm(imm: u64) -> Option<IntCC> {
        Self::ALL.get(imm as usize).copied()
    }
    /// Text name.
    pub fn name(self) -> &'static str {
        ["eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge"][self as usize]
    }
}

/// Float comparison conditions (the `imm` of `fcmp`). All but `Ne` and `Uno` are false when
/// either operand is a NaN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FloatCC {
    /// ordered and equal
    Eq,
    /// unordered or not equal
    Ne,
    /// ordered and less
    Lt,
    /// ordered and less or equal
    Le,
    /// ordered and greater
    Gt,
    /// ordered and greater or equal
    Ge,
    /// unordered (either is NaN)
    Uno,
    /// ordered (neither is NaN)
    Ord,
}

impl FloatCC {
    /// All conditions, indexed by their `imm` encoding.
    pub const ALL: [FloatCC; 8] =
        [FloatCC::Eq, FloatCC::Ne, FloatCC::Lt, FloatCC::Le, FloatCC::Gt, FloatCC::Ge, FloatCC::Uno, FloatCC::Ord];
    /// Decodes an `imm`.
    pub fn from_imm(imm: u64) -> Option<FloatCC> {
        Self::ALL.get(imm as usize).copied()
    }
    /// Text name.
    pub fn name(self) -> &'static str {
        ["eq", "ne", "lt", "le", "gt", "ge", "uno", "ord"][self as usize]
    }
}
