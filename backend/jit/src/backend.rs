//! The Cranelift side: building the host ISA, compiling a function, and copying the result
//! into executable memory with its few possible relocations resolved.

use crate::JitError;
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{ExternalName, LibCall};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, FinalizedMachReloc, FinalizedRelocTarget};

/// Builds the host ISA: Cranelift's native feature detection (or the x86-64 baseline when
/// `detect` is false), then `isa_flags` on top.
pub(crate) fn host_isa(optimize: bool, detect: bool, verify: bool, isa_flags: &[(String, String)]) -> Result<OwnedTargetIsa, JitError> {
    let cg = |e: settings::SetError| JitError::Codegen(e.to_string());
    let mut flags = settings::builder();
    flags.set("opt_level", if optimize { "speed" } else { "none" }).map_err(cg)?;
    // Helpers and slow paths are called through absolute addresses we materialise ourselves.
    flags.set("is_pic", "false").map_err(cg)?;
    flags.set("unwind_info", "false").map_err(cg)?;
    // Cranelift's x64 tail calls rely on a frame pointer chain.
    flags.set("preserve_frame_pointers", "true").map_err(cg)?;
    flags.set("enable_verifier", if verify { "true" } else { "false" }).map_err(cg)?;
    // Without optimisation the alias analysis has nothing to feed. (The single-pass register
    // allocator compiles about twice as fast but spills nearly every value: the blocks it
    // makes ran the Linux boot slower overall, so the default backtracking allocator stays.)
    if !optimize {
        flags.set("enable_alias_analysis", "false").map_err(cg)?;
    }
    let mut isa = cranelift_native::builder_with_options(detect).map_err(|e| JitError::Unsupported(e.to_string()))?;
    for (k, v) in isa_flags {
        isa.set(k, v).map_err(cg)?;
    }
    isa.finish(settings::Flags::new(flags)).map_err(|e| JitError::Codegen(e.to_string()))
}

/// Machine code of one compiled function, not yet placed.
pub(crate) struct Emitted<'a> {
    /// Code and its constant pool.
    pub(crate) bytes: &'a [u8],
    /// Absolute relocations still to patch.
    pub(crate) relocs: &'a [FinalizedMachReloc],
    /// Disassembly of the VCode, when the context asked for it.
    pub(crate) vcode: Option<&'a str>,
}

/// Compiles the function held by `ctx`.
pub(crate) fn compile<'a>(ctx: &'a mut Context, isa: &OwnedTargetIsa) -> Result<Emitted<'a>, JitError> {
    let code = ctx
        .compile(&**isa, &mut ControlPlane::default())
        .map_err(|e| JitError::Codegen(format!("{:?}", e.inner)))?;
    Ok(Emitted { bytes: code.code_buffer(), relocs: code.buffer.relocs(), vcode: code.vcode.as_deref() })
}

/// Copies `e` to `dst` (at least `e.bytes.len()` writable bytes) and patches its relocations.
///
/// # Safety
/// `dst` must be valid for writes of `e.bytes.len()` bytes.
pub(crate) unsafe fn install(e: &Emitted<'_>, dst: *mut u8) -> Result<(), JitError> {
    // SAFETY: caller guarantees dst is writable for the length.
    unsafe { std::ptr::copy_nonoverlapping(e.bytes.as_ptr(), dst, e.bytes.len()) };
    for r in e.relocs {
        let target = match &r.target {
            FinalizedRelocTarget::ExternalName(ExternalName::LibCall(lc)) => libcall_address(*lc),
            _ => None,
        };
        match (r.kind, target) {
            (Reloc::Abs8, Some(addr)) => {
                // SAFETY: the relocation lies inside the code just copied.
                unsafe { (dst.add(r.offset as usize) as *mut u64).write_unaligned(addr.wrapping_add(r.addend as u64)) };
            }
            _ => return Err(JitError::Unsupported(format!("relocation {:?} to {:?}", r.kind, r.target))),
        }
    }
    Ok(())
}

/// Whether `e` only has relocations [`install`] can resolve.
pub(crate) fn check_relocs(e: &Emitted<'_>) -> Result<(), JitError> {
    for r in e.relocs {
        let ok = r.kind == Reloc::Abs8
            && matches!(&r.target, FinalizedRelocTarget::ExternalName(ExternalName::LibCall(lc)) if libcall_address(*lc).is_some());
        if !ok {
            return Err(JitError::Unsupported(format!("relocation {:?} to {:?}", r.kind, r.target)));
        }
    }
    Ok(())
}

extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}

extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

/// Host implementations of the library calls Cranelift may emit for the opcodes we use (only
/// `fma` on hosts without the FMA extension).
fn libcall_address(lc: LibCall) -> Option<u64> {
    match lc {
        LibCall::FmaF32 => Some(fma_f32 as *const () as usize as u64),
        LibCall::FmaF64 => Some(fma_f64 as *const () as usize as u64),
        _ => None,
    }
}
