//! A tiny test guest: four 64-bit registers, one 32-bit register, a helper, and RAM mapped 1:1.
//! Used by this crate's tests and by the JIT's tests (which compare against the interpreter).

use crate::block::{GuestDesc, HelperInfo, RegInfo, RegSet};
use crate::Type;
use ferrite_softmmu::{Access, AddressSpace, CpuHeader, Ram, TlbFill};
use std::sync::Arc;

/// The test CPU: a header and five registers.
#[repr(C)]
pub struct TestCpu {
    /// Fixed-layout header.
    pub hdr: CpuHeader,
    /// r0..r3 (i64).
    pub r: [u64; 4],
    /// w (i32).
    pub w: u32,
    /// Times the helper ran.
    pub helper_calls: u32,
}

const HDR: u32 = std::mem::offset_of!(TestCpu, r) as u32;

/// The register table.
pub static REGS: [RegInfo; 5] = [
    RegInfo { name: "r0", offset: HDR, ty: Type::I64 },
    RegInfo { name: "r1", offset: HDR + 8, ty: Type::I64 },
    RegInfo { name: "r2", offset: HDR + 16, ty: Type::I64 },
    RegInfo { name: "r3", offset: HDR + 24, ty: Type::I64 },
    RegInfo { name: "w", offset: std::mem::offset_of!(TestCpu, w) as u32, ty: Type::I32 },
];

/// `add3(a, b, c) = a + b + c`, counting calls; raises (sets `pending_exit`) when `a` is 0xdead.
unsafe extern "C" fn add3(env: *mut CpuHeader, a: u64, b: u64, c: u64, _d: u64) -> u64 {
    // SAFETY: only called on TestCpu.
    let cpu = unsafe { &mut *(env as *mut TestCpu) };
    cpu.helper_calls += 1;
    if a == 0xdead {
        cpu.hdr.pending_exit = 1;
        return 0;
    }
    a.wrapping_add(b).wrapping_add(c)
}

/// `bump()`: a void helper that counts calls and returns garbage in the (ignored) return
/// register, so that an engine storing it anywhere is caught.
unsafe extern "C" fn bump(env: *mut CpuHeader, _a: u64, _b: u64, _c: u64, _d: u64) -> u64 {
    // SAFETY: only called on TestCpu.
    let cpu = unsafe { &mut *(env as *mut TestCpu) };
    cpu.helper_calls += 1;
    0xbad0_bad0_bad0_bad0
}

/// Index of `add3` in [`HELPERS`].
pub const ADD3: usize = 0;
/// Index of `bump` in [`HELPERS`].
pub const BUMP: usize = 1;

/// The helper table.
pub static HELPERS: [HelperInfo; 2] = [
    HelperInfo {
        name: "add3",
        func: add3,
        args: &[Type::I64, Type::I64, Type::I64],
        ret: Type::I64,
        reads: RegSet::EMPTY,
        writes: RegSet::EMPTY,
        may_raise: true,
    },
    HelperInfo { name: "bump", func: bump, args: &[], ret: Type::Void, reads: RegSet::EMPTY, writes: RegSet::EMPTY, may_raise: false },
];

/// The test guest.
pub static DESC: GuestDesc = GuestDesc { name: "test", regs: &REGS, helpers: &HELPERS };

/// Identity MMU over RAM; page 0xdead_0000 is unmapped (faults).
unsafe fn ident(_env: *mut CpuHeader, vaddr: u64, _a: Access, _m: usize) -> Result<TlbFill, ()> {
    if vaddr >> 16 == 0xdead {
        return Err(());
    }
    Ok(TlbFill { phys: vaddr, prot: 7, page_size: 4096, bswap: false, global: true })
}

/// A machine for tests: 1 MiB of RAM at 0 and a CPU.
pub struct TestMachine {
    /// The address space (kept alive for the CPU).
    pub space: Arc<AddressSpace>,
    /// The CPU.
    pub cpu: Box<TestCpu>,
}

impl TestMachine {
    /// Builds the machine.
    pub fn new() -> TestMachine {
        let space = Arc::new(AddressSpace::new());
        space.add_ram("ram", 0, Arc::new(Ram::new(1 << 20).unwrap())).unwrap();
        let mut b: Box<std::mem::MaybeUninit<TestCpu>> = Box::new_uninit();
        // SAFETY: every field is initialised before assume_init.
        let cpu = unsafe {
            let p = b.as_mut_ptr();
            CpuHeader::init_raw(std::ptr::addr_of_mut!((*p).hdr), Arc::as_ptr(&space), ident);
            std::ptr::addr_of_mut!((*p).r).write([0; 4]);
            std::ptr::addr_of_mut!((*p).w).write(0);
            std::ptr::addr_of_mut!((*p).helper_calls).write(0);
            b.assume_init()
        };
        TestMachine { space, cpu }
    }

    /// The `env` pointer generated code receives.
    pub fn env(&mut self) -> *mut CpuHeader {
        &mut self.cpu.hdr
    }
}

impl Default for TestMachine {
    fn default() -> Self {
        Self::new()
    }
}
