//! Process-wide code stubs, compiled once into their own mapping and never freed:
//!
//! * the enter trampoline: a SystemV function `(code, env) -> u64` that calls a block
//!   compiled with Cranelift's `tail` convention (whose callee-saved registers differ from
//!   what Rust expects of a SystemV callee);
//! * memory slow-path shims with the `preserve_all` convention around
//!   `ferrite_softmmu::slow_path::{load, store}`. Calls to them clobber no register, so the
//!   values of a block's hot path never need callee-saved registers (which every block
//!   entry would have to save and restore) just because a cold path calls out.

use crate::{backend, EnterFn, JitError};
use cranelift_codegen::ir::{types, AbiParam, Function, InstBuilder, MemFlagsData, Signature, UserFuncName};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use ferrite_softmmu::{slow_path, CpuHeader};
use std::mem::offset_of;
use std::sync::OnceLock;

/// Addresses of the stubs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stubs {
    /// The enter trampoline.
    pub(crate) enter: usize,
    /// `preserve_all fn(env)`: `env.slow_value = load(env, env.slow_addr, env.slow_memop)`.
    pub(crate) load: usize,
    /// `preserve_all fn(env)`: `store(env, env.slow_addr, env.slow_value, env.slow_memop)`.
    pub(crate) store: usize,
}

static STUBS: OnceLock<Result<Stubs, String>> = OnceLock::new();

/// The signature every compiled block has: `tail fn(env: i64) -> i64`.
pub(crate) fn block_signature() -> Signature {
    sig(CallConv::Tail, &[types::I64], Some(types::I64))
}

/// A signature over the given parameter types.
pub(crate) fn sig(cc: CallConv, params: &[types::Type], ret: Option<types::Type>) -> Signature {
    let mut s = Signature::new(cc);
    s.params.extend(params.iter().map(|&t| AbiParam::new(t)));
    s.returns.extend(ret.map(AbiParam::new));
    s
}

/// Signature of the load and store shims: `preserve_all fn(env)`, the operands in the header.
pub(crate) fn shim_signature() -> Signature {
    sig(CallConv::PreserveAll, &[types::I64], None)
}

/// The stubs, compiled on first use.
pub(crate) fn get() -> Result<Stubs, JitError> {
    STUBS.get_or_init(|| build().map_err(|e| e.to_string())).clone().map_err(JitError::Codegen)
}

/// The enter trampoline.
pub(crate) fn enter_fn() -> Result<EnterFn, JitError> {
    let addr = get()?.enter;
    // SAFETY: the address holds the trampoline's code, mapped executable for ever, and its ABI
    // is SystemV `(u64, *mut CpuHeader) -> u64`.
    Ok(unsafe { std::mem::transmute::<usize, EnterFn>(addr) })
}

/// Builds one stub: `body` gets the builder and the entry block's parameters.
fn stub(isa: &OwnedTargetIsa, signature: Signature, body: impl FnOnce(&mut FunctionBuilder, &[cranelift_codegen::ir::Value])) -> Result<Vec<u8>, JitError> {
    let mut func = Function::with_name_signature(UserFuncName::default(), signature);
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        body(&mut b, &params);
        b.finalize(isa.frontend_config());
    }
    let mut ctx = Context::for_function(func);
    let e = backend::compile(&mut ctx, isa)?;
    if !e.relocs.is_empty() {
        return Err(JitError::Codegen("stub with relocations".into()));
    }
    Ok(e.bytes.to_vec())
}

fn build() -> Result<Stubs, JitError> {
    let isa = backend::host_isa(true, true, cfg!(debug_assertions), &[])?;
    let enter = stub(&isa, sig(CallConv::SystemV, &[types::I64, types::I64], Some(types::I64)), |b, p| {
        let tail = b.import_signature(block_signature());
        let call = b.ins().call_indirect(tail, p[0], &[p[1]]);
        let ret = b.inst_results(call)[0];
        b.ins().return_(&[ret]);
    })?;
    let field = |b: &mut FunctionBuilder, ty, env, off: usize| b.ins().load(ty, MemFlagsData::trusted(), env, off as i32);
    let load = stub(&isa, shim_signature(), |b, p| {
        let s = b.import_signature(sig(CallConv::SystemV, &[types::I64, types::I64, types::I32], Some(types::I64)));
        let f = b.ins().iconst(types::I64, slow_path::load as *const () as usize as i64);
        let addr = field(b, types::I64, p[0], offset_of!(CpuHeader, slow_addr));
        let memop = field(b, types::I32, p[0], offset_of!(CpuHeader, slow_memop));
        let call = b.ins().call_indirect(s, f, &[p[0], addr, memop]);
        let v = b.inst_results(call)[0];
        b.ins().store(MemFlagsData::trusted(), v, p[0], offset_of!(CpuHeader, slow_value) as i32);
        b.ins().return_(&[]);
    })?;
    let store = stub(&isa, shim_signature(), |b, p| {
        let s = b.import_signature(sig(CallConv::SystemV, &[types::I64, types::I64, types::I64, types::I32], None));
        let f = b.ins().iconst(types::I64, slow_path::store as *const () as usize as i64);
        let addr = field(b, types::I64, p[0], offset_of!(CpuHeader, slow_addr));
        let value = field(b, types::I64, p[0], offset_of!(CpuHeader, slow_value));
        let memop = field(b, types::I32, p[0], offset_of!(CpuHeader, slow_memop));
        b.ins().call_indirect(s, f, &[p[0], addr, value, memop]);
        b.ins().return_(&[]);
    })?;
    let parts = [&enter, &load, &store];
    let offsets: Vec<usize> = parts
        .iter()
        .scan(0usize, |off, p| {
            let at = *off;
            *off = (at + p.len()).next_multiple_of(16);
            Some(at)
        })
        .collect();
    let len = (offsets[2] + store.len()).next_multiple_of(4096);
    // SAFETY: fresh anonymous mapping; checked below.
    let p = unsafe {
        libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    };
    if p == libc::MAP_FAILED {
        return Err(JitError::Codegen("mmap for the stubs failed".into()));
    }
    let base = p as usize;
    // SAFETY: the mapping is writable for len bytes, which covers every part; it is then made
    // read+exec and never unmapped.
    unsafe {
        for (part, off) in parts.iter().zip(&offsets) {
            std::ptr::copy_nonoverlapping(part.as_ptr(), (base + off) as *mut u8, part.len());
        }
        if libc::mprotect(p, len, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            return Err(JitError::Codegen("mprotect of the stubs failed".into()));
        }
    }
    Ok(Stubs { enter: base + offsets[0], load: base + offsets[1], store: base + offsets[2] })
}
