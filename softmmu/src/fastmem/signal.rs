//! The SIGSEGV handler of fastmem.
//!
//! A fault counts as a fastmem fault only if its address lies in a registered CPU's
//! reservation *and* the faulting instruction lies in registered generated code; anything else
//! goes to the handler that was installed before (Rust's stack-overflow report, or the default
//! action), so a real host bug still crashes loudly. For a fastmem fault the handler maps a
//! private scratch page over the faulting page, records it in the CPU's [`Fastmem`] and
//! returns: the instruction runs again on scratch, and the check after it sends the access to
//! the slow path (see the parent module). It only reads atomics and calls `mmap`, which is
//! async-signal-safe.

use super::Fastmem;
use crate::tlb::PAGE_MASK;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Once;

const SLOTS: usize = 64;

/// A registered reservation: [start, end) and its CPU's fastmem state.
struct Slot {
    start: AtomicU64,
    end: AtomicU64,
    fastmem: AtomicPtr<Fastmem>,
}

#[allow(clippy::declare_interior_mutable_const)] // used only to initialise the arrays below
const EMPTY_SLOT: Slot = Slot { start: AtomicU64::new(0), end: AtomicU64::new(0), fastmem: AtomicPtr::new(std::ptr::null_mut()) };
static RESERVATIONS: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];

#[allow(clippy::declare_interior_mutable_const)] // used only to initialise the array below
const EMPTY_RANGE: (AtomicU64, AtomicU64) = (AtomicU64::new(0), AtomicU64::new(0));
/// Host code ranges whose faults may be fastmem faults.
static CODE: [(AtomicU64, AtomicU64); SLOTS] = [EMPTY_RANGE; SLOTS];

static INSTALL: Once = Once::new();
/// The action SIGSEGV had before ours (written once, before ours is installed).
static mut PREVIOUS: Option<libc::sigaction> = None;

/// Whether this host can run fastmem.
pub fn supported() -> bool {
    cfg!(all(target_arch = "x86_64", target_os = "linux"))
}

/// Registers generated code at [start, start + len): fastmem accesses run there.
pub fn register_code(start: u64, len: u64) {
    for (s, e) in &CODE {
        if s.compare_exchange(0, start, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            e.store(start + len, Ordering::Release);
            return;
        }
    }
    tracing::warn!("fastmem: too many code arenas; faults in the one at {start:#x} are not handled");
}

/// Forgets the generated code registered at `start`.
pub fn unregister_code(start: u64) {
    for (s, e) in &CODE {
        if s.load(Ordering::Acquire) == start {
            e.store(0, Ordering::Release);
            s.store(0, Ordering::Release);
        }
    }
}

/// Registers a reservation; returns its slot, or `None` when all are taken.
pub(super) fn register(start: u64, end: u64, fastmem: *mut Fastmem) -> Option<usize> {
    install();
    for (i, slot) in RESERVATIONS.iter().enumerate() {
        if slot.start.compare_exchange(0, start, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            slot.fastmem.store(fastmem, Ordering::Release);
            slot.end.store(end, Ordering::Release);
            return Some(i);
        }
    }
    None
}

/// Forgets the reservation of `slot`.
pub(super) fn unregister(slot: usize) {
    let s = &RESERVATIONS[slot];
    s.end.store(0, Ordering::Release);
    s.fastmem.store(std::ptr::null_mut(), Ordering::Release);
    s.start.store(0, Ordering::Release);
}

fn install() {
    INSTALL.call_once(|| {
        // SAFETY: plain sigaction calls with zero-initialised structures; PREVIOUS is written
        // before our handler (its only reader) can run.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_segv as *const () as usize;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut new.sa_mask);
            libc::sigaction(libc::SIGSEGV, std::ptr::null(), &mut old);
            PREVIOUS = Some(old);
            libc::sigaction(libc::SIGSEGV, &new, std::ptr::null_mut());
        }
    });
}

fn in_code(pc: u64) -> bool {
    CODE.iter().any(|(s, e)| {
        let start = s.load(Ordering::Acquire);
        start != 0 && pc >= start && pc < e.load(Ordering::Acquire)
    })
}

fn owner(addr: u64) -> Option<*mut Fastmem> {
    RESERVATIONS.iter().find_map(|s| {
        let start = s.start.load(Ordering::Acquire);
        let end = s.end.load(Ordering::Acquire);
        (start != 0 && addr >= start && addr < end).then(|| s.fastmem.load(Ordering::Acquire)).filter(|p| !p.is_null())
    })
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn fault_pc(ctx: *mut libc::c_void) -> u64 {
    // SAFETY: the kernel passes a ucontext_t to SA_SIGINFO handlers.
    unsafe { (*(ctx as *mut libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] as u64 }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn fault_pc(_ctx: *mut libc::c_void) -> u64 {
    0
}

/// Covers the faulting page of `fm`'s reservation with scratch; false if it cannot.
///
/// # Safety
/// `fm` must be a registered, live fastmem state of the CPU running on this thread.
unsafe fn cover_with_scratch(fm: *mut Fastmem, addr: u64) -> bool {
    let page = addr & PAGE_MASK;
    // SAFETY: caller's contract; the running CPU's generated code is stopped in this fault.
    let fm = unsafe { &mut *fm };
    let Some(i) = fm.scratch.iter().position(|&p| p == 0) else { return false };
    // SAFETY: the page lies in the reservation (checked by the caller): replacing it touches
    // nothing else.
    let r = unsafe {
        libc::mmap(
            page as *mut libc::c_void,
            PAGE_SIZE_USIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if r == libc::MAP_FAILED {
        return false;
    }
    // SAFETY: volatile so that the writes are not elided; generated code reads them after the
    // handler returns.
    unsafe {
        std::ptr::write_volatile(&mut fm.scratch[i], page);
        std::ptr::write_volatile(&mut fm.fault, 1);
    }
    true
}

const PAGE_SIZE_USIZE: usize = crate::tlb::PAGE_SIZE as usize;

extern "C" fn on_segv(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SIGSEGV.
    let addr = unsafe { (*info).si_addr() } as u64;
    if let Some(fm) = owner(addr) {
        // SAFETY: a registered state is live until unregistered, and only the thread running
        // that CPU executes its generated code.
        if in_code(fault_pc(ctx)) && unsafe { cover_with_scratch(fm, addr) } {
            return;
        }
    }
    // Not ours: the previous action decides.
    // SAFETY: PREVIOUS was written before this handler was installed.
    let previous = unsafe { (*std::ptr::addr_of!(PREVIOUS)).as_ref().copied() };
    match previous {
        Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
            if p.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: calling the handler that was installed, as the kernel would.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = unsafe { std::mem::transmute(p.sa_sigaction) };
                f(sig, info, ctx);
            } else {
                // SAFETY: as above, for a plain handler.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(p.sa_sigaction) };
                f(sig);
            }
        }
        _ => {
            // Default action: reinstall it and let the instruction fault again.
            // SAFETY: plain sigaction call.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGSEGV, &dfl, std::ptr::null_mut());
            }
        }
    }
}
