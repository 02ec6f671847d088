//! The enter trampoline: a SystemV function `(code, env) -> u64` that calls a block compiled
//! with Cranelift's `tail` convention. The `tail` convention has no callee-saved registers,
//! so Rust cannot call generated code directly; the trampoline's prologue saves what SystemV
//! requires. It is compiled once per process into its own small mapping and never freed.

use crate::{backend, EnterFn, JitError};
use cranelift_codegen::ir::{types, AbiParam, Function, InstBuilder, Signature, UserFuncName};
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use std::sync::OnceLock;

static ENTER: OnceLock<Result<usize, String>> = OnceLock::new();

/// The signature every compiled block has: `tail fn(env: i64) -> i64`.
pub(crate) fn block_signature() -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params.push(AbiParam::new(types::I64));
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

/// The process-wide trampoline, compiled on first use.
pub(crate) fn enter_fn() -> Result<EnterFn, JitError> {
    let r = ENTER.get_or_init(|| build().map_err(|e| e.to_string()));
    match r {
        // SAFETY: the address holds the trampoline's code, mapped executable for ever, and
        // its ABI is SystemV `(u64, *mut CpuHeader) -> u64`.
        Ok(addr) => Ok(unsafe { std::mem::transmute::<usize, EnterFn>(*addr) }),
        Err(e) => Err(JitError::Codegen(e.clone())),
    }
}

fn build() -> Result<usize, JitError> {
    let isa = backend::host_isa(true, &[])?;
    let mut sig = Signature::new(CallConv::SystemV);
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I64));
    sig.returns.push(AbiParam::new(types::I64));
    let mut func = Function::with_name_signature(UserFuncName::default(), sig);
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let (code, env) = (b.block_params(entry)[0], b.block_params(entry)[1]);
        let tail = b.import_signature(block_signature());
        let call = b.ins().call_indirect(tail, code, &[env]);
        let ret = b.inst_results(call)[0];
        b.ins().return_(&[ret]);
        b.finalize(isa.frontend_config());
    }
    let mut ctx = Context::for_function(func);
    let e = backend::compile(&mut ctx, &isa)?;
    backend::check_relocs(&e)?;
    let len = e.bytes.len().next_multiple_of(4096);
    // SAFETY: fresh anonymous mapping; checked below.
    let p = unsafe {
        libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    };
    if p == libc::MAP_FAILED {
        return Err(JitError::Codegen("mmap for the trampoline failed".into()));
    }
    // SAFETY: p is writable for len >= bytes.len(); then made read+exec (never unmapped).
    unsafe {
        backend::install(&e, p as *mut u8)?;
        if libc::mprotect(p, len, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            return Err(JitError::Codegen("mprotect of the trampoline failed".into()));
        }
    }
    Ok(p as usize)
}
