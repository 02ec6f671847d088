//! The architected user state a case starts from and ends with, its memory image in the state
//! block, and the stable digest golden files store.

/// Guest address of the state block (absolute addressing with RA = 0 reaches it).
pub const BLOCK: u32 = 0x4000;
/// Offset of the input state in the block.
pub const IN_OFF: u32 = 0x000;
/// Offset of the output state.
pub const OUT_OFF: u32 = 0x200;
/// Offset of the harness's register save area.
pub const SAVE_OFF: u32 = 0x400;
/// Where the code goes.
pub const CODE_BASE: u32 = 0x3000_0000;
/// Scratch memory the loads and stores use.
pub const SCRATCH: u32 = 0x3800_0000;
/// Size of the scratch memory compared.
pub const MEM_SIZE: usize = 1024;

/// GPRs, FPRs, CR, XER, LR, CTR, FPSCR.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserState {
    /// General purpose registers.
    pub gpr: [u32; 32],
    /// Floating-point registers.
    pub fpr: [u64; 32],
    /// Condition register.
    pub cr: u32,
    /// Fixed-point exception register.
    pub xer: u32,
    /// Link register.
    pub lr: u32,
    /// Count register.
    pub ctr: u32,
    /// FP status and control register.
    pub fpscr: u32,
}

impl UserState {
    /// The 0x200-byte block layout (big-endian): GPRs at 0, FPRs at 0x80, CR 0x180, XER 0x184,
    /// LR 0x188, CTR 0x18c, FPSCR as a double at 0x190.
    pub fn to_block(&self) -> Vec<u8> {
        let mut b = vec![0u8; 0x200];
        for i in 0..32 {
            b[4 * i..4 * i + 4].copy_from_slice(&self.gpr[i].to_be_bytes());
            b[0x80 + 8 * i..0x88 + 8 * i].copy_from_slice(&self.fpr[i].to_be_bytes());
        }
        for (off, v) in [(0x180, self.cr), (0x184, self.xer), (0x188, self.lr), (0x18c, self.ctr)] {
            b[off..off + 4].copy_from_slice(&v.to_be_bytes());
        }
        b[0x190..0x198].copy_from_slice(&(self.fpscr as u64).to_be_bytes());
        b
    }

    /// Parses a block.
    pub fn from_block(b: &[u8]) -> UserState {
        let w = |o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap());
        let d = |o: usize| u64::from_be_bytes(b[o..o + 8].try_into().unwrap());
        let mut s = UserState::default();
        for i in 0..32 {
            s.gpr[i] = w(4 * i);
            s.fpr[i] = d(0x80 + 8 * i);
        }
        s.cr = w(0x180);
        s.xer = w(0x184);
        s.lr = w(0x188);
        s.ctr = w(0x18c);
        s.fpscr = d(0x190) as u32;
        s
    }
}

/// How a case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trap {
    /// It ran to the end.
    None,
    /// Illegal instruction (SIGILL, ILL_ILLOPC / program interrupt ESR[PIL]).
    Illegal,
    /// Privileged instruction (SIGILL, ILL_PRVOPC/PRVREG / ESR[PPR]).
    Privileged,
    /// Trap instruction (SIGTRAP / ESR[PTR]).
    Trap,
    /// Enabled floating-point exception (SIGFPE / ESR[FP]).
    FpEnabled,
    /// Storage fault (SIGSEGV).
    Segv,
    /// Alignment (SIGBUS).
    Alignment,
    /// Anything else (signal number).
    Other(u32),
    /// qemu-ppc itself crashed on the case (nothing to compare).
    QemuCrash,
}

impl Trap {
    fn code(self) -> u32 {
        match self {
            Trap::None => 0,
            Trap::Illegal => 1,
            Trap::Privileged => 2,
            Trap::Trap => 3,
            Trap::FpEnabled => 4,
            Trap::Segv => 5,
            Trap::Alignment => 6,
            Trap::Other(n) => 100 + n,
            Trap::QemuCrash => 99,
        }
    }
}

/// The result of running a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Registers at the end (or at the trap).
    pub state: UserState,
    /// How it ended.
    pub trap: Trap,
    /// Index of the trapping instruction in the test body (0 when no trap).
    pub trap_index: u32,
    /// The scratch memory.
    pub mem: Vec<u8>,
}

impl Outcome {
    /// A stable 64-bit digest (FNV-1a over a fixed serialisation).
    pub fn digest(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= b as u64;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(&self.state.to_block());
        eat(&self.trap.code().to_be_bytes());
        eat(&self.trap_index.to_be_bytes());
        eat(&self.mem);
        h
    }

    /// A readable list of what differs from `other`.
    pub fn diff(&self, other: &Outcome) -> String {
        let (a, b) = (&self.state, &other.state);
        let mut out = String::new();
        for i in 0..32 {
            if a.gpr[i] != b.gpr[i] {
                out += &format!("  r{i}: {:#010x} vs {:#010x}\n", a.gpr[i], b.gpr[i]);
            }
        }
        for i in 0..32 {
            if a.fpr[i] != b.fpr[i] {
                out += &format!("  f{i}: {:#018x} vs {:#018x}\n", a.fpr[i], b.fpr[i]);
            }
        }
        for (n, x, y) in [("cr", a.cr, b.cr), ("xer", a.xer, b.xer), ("lr", a.lr, b.lr), ("ctr", a.ctr, b.ctr), ("fpscr", a.fpscr, b.fpscr)] {
            if x != y {
                out += &format!("  {n}: {x:#010x} vs {y:#010x}\n");
            }
        }
        if (self.trap, self.trap_index) != (other.trap, other.trap_index) {
            out += &format!("  trap: {:?} at {} vs {:?} at {}\n", self.trap, self.trap_index, other.trap, other.trap_index);
        }
        for (i, (x, y)) in self.mem.iter().zip(&other.mem).enumerate() {
            if x != y {
                out += &format!("  mem[{:#x}]: {x:#04x} vs {y:#04x}\n", SCRATCH as usize + i);
            }
        }
        out
    }
}
