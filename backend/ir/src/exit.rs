//! How a block reports why it stopped, shared by the interpreter, the JIT and the run loop.
//!
//! Generated code returns a `u64`: the [`ExitKind`] tag in the low 8 bits and a payload above
//! (exit index for direct exits, exception code for raises). The guest PC goes to
//! `CpuHeader::pc`, the count of completed instructions to `CpuHeader::exit_insns`, and a raise's
//! detail to `CpuHeader::exit_slot`.

/// Why a block stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Reached `exit_direct` number `index` (in block order) for `pc`.
    Direct {
        /// Next guest PC.
        pc: u64,
        /// Which direct exit of the block (link slot index).
        index: u32,
    },
    /// Reached `exit_dynamic` for `pc` (the inline cache missed).
    Dynamic {
        /// Next guest PC.
        pc: u64,
    },
    /// Reached `exit_sync` / `exit_sync_dynamic`: the CPU mode may have changed.
    Sync {
        /// Next guest PC.
        pc: u64,
    },
    /// `raise` at the instruction at `pc`.
    Raise {
        /// PC of the raising instruction.
        pc: u64,
        /// Frontend-defined exception code.
        code: u64,
        /// Frontend-defined detail.
        aux: u64,
    },
    /// `halt`: wait for an interrupt, then continue at `pc`.
    Halt {
        /// Resume PC.
        pc: u64,
    },
    /// A memory access or helper raised a guest exception (the frontend recorded it) at `pc`.
    Fault {
        /// PC of the faulting instruction.
        pc: u64,
    },
    /// The block was not entered because `exit_request` was set or the instruction budget ran
    /// out; `pc` is the block's own PC.
    Request {
        /// PC to resume at.
        pc: u64,
    },
}

/// Tag values of the `u64` generated code returns.
pub mod tag {
    /// [`super::Exit::Direct`]; payload: exit index.
    pub const DIRECT: u64 = 1;
    /// [`super::Exit::Dynamic`].
    pub const DYNAMIC: u64 = 2;
    /// [`super::Exit::Sync`].
    pub const SYNC: u64 = 3;
    /// [`super::Exit::Raise`]; payload: code.
    pub const RAISE: u64 = 4;
    /// [`super::Exit::Halt`].
    pub const HALT: u64 = 5;
    /// [`super::Exit::Fault`].
    pub const FAULT: u64 = 6;
    /// [`super::Exit::Request`].
    pub const REQUEST: u64 = 7;
}

impl Exit {
    /// Decodes what generated code returned, with the PC and detail it stored.
    pub fn decode(ret: u64, pc: u64, aux: u64) -> Exit {
        let payload = ret >> 8;
        match ret & 0xff {
            tag::DIRECT => Exit::Direct { pc, index: payload as u32 },
            tag::DYNAMIC => Exit::Dynamic { pc },
            tag::SYNC => Exit::Sync { pc },
            tag::RAISE => Exit::Raise { pc, code: payload, aux },
            tag::HALT => Exit::Halt { pc },
            tag::FAULT => Exit::Fault { pc },
            _ => Exit::Request { pc },
        }
    }

    /// The guest PC carried by the exit.
    pub fn pc(&self) -> u64 {
        match *self {
            Exit::Direct { pc, .. }
            | Exit::Dynamic { pc }
            | Exit::Sync { pc }
            | Exit::Raise { pc, .. }
            | Exit::Halt { pc }
            | Exit::Fault { pc }
            | Exit::Request { pc } => pc,
        }
    }
}
