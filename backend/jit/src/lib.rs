//! ferrite's JIT: IR blocks to x86-64 through Cranelift.
//!
//! Each IR [`Block`] becomes one Cranelift function `tail fn(env) -> u64` written into an
//! executable arena. Blocks chain with tail calls: a direct exit jumps through a per-exit link
//! slot the engine fills in ([`Compiled::slots`]), a dynamic exit probes the CPU's jump cache
//! inline. Anything else returns an exit word for the run loop
//! ([`ferrite_ir::Exit::decode`]). Guest registers stay in host registers within a block,
//! memory accesses inline the soft-TLB fast path, and every exit leaves precise guest state
//! (see `lower` for the details).
//!
//! The engine enters generated code through [`Jit::enter_fn`], a trampoline that adapts
//! the SystemV convention to Cranelift's `tail` convention.

mod analysis;
pub mod arena;
mod backend;
mod lower;
mod stubs;

use cranelift_codegen::ir::{Function, UserFuncName};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use ferrite_ir::Block;

/// Calls compiled code: `enter(code, env)` runs the block at `code` (and whatever it chains
/// to) on the CPU `env` and returns the raw exit word.
pub type EnterFn = unsafe extern "C" fn(code: u64, env: *mut ferrite_softmmu::CpuHeader) -> u64;

/// Why a block could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum JitError {
    /// The arena has no room left: reset it (after making sure no code runs) and retry.
    #[error("JIT arena full")]
    ArenaFull,
    /// The block uses something this backend cannot compile (run it in the interpreter).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Cranelift failed (a bug).
    #[error("code generation failed: {0}")]
    Codegen(String),
}

/// Per-block compilation options.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Deterministic mode: the block subtracts its instruction count from `icount_budget` on
    /// entry and leaves with a request exit if the budget would go negative.
    pub count_insns: bool,
    /// The CPU mode key the block was translated for (checked by jump-cache probes).
    pub mode_key: u64,
    /// Let Cranelift optimise (`opt_level=speed`): several times the compile time, for code
    /// that will run long (a loop), whatever the JIT's default.
    pub optimize: bool,
    /// The MMU modes (bit `m` for mode `m`) whose accesses reach guest RAM through the CPU's
    /// fastmem reservation (`ferrite_softmmu::fastmem`): 32-bit guest addresses only; the CPU
    /// must have fastmem on for them. 0: none.
    pub fastmem_modes: u8,
    /// Guest physical address of the block's first instruction (a fastmem access that meets
    /// a page it can never map names it, so that the block's page is compiled without
    /// fastmem from then on).
    pub phys_pc: u64,
}

/// A compiled block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compiled {
    /// Host address of the code.
    pub entry: u64,
    /// Host address of `n_slots` zeroed, 8-byte aligned `u64` link slots, one per
    /// `exit_direct` in instruction order (`ferrite_ir::interp::direct_exit_index`). Writing
    /// another block's `entry` links the exit to it; 0 unlinks.
    pub slots: u64,
    /// Number of link slots.
    pub n_slots: u32,
    /// Bytes of code (with its constants).
    pub code_size: u32,
}

/// Code-generation settings of a [`Jit`].
#[derive(Clone, Debug)]
pub struct JitConfig {
    /// Cranelift `opt_level`: `speed` when true, `none` when false (the default). The blocks
    /// this JIT emits are already simple; `speed` costs 3-4x the compile time, and its
    /// e-graph places pure values at their first use, so a value stored to guest memory and
    /// used again later is computed twice (measured: memory-heavy loops ~1.7x slower,
    /// register-only loops equal).
    pub optimize: bool,
    /// Use the host CPU's extensions (AVX, BMI, FMA...) as detected; when false, generate
    /// for the x86-64 baseline (reproducible listings).
    pub detect_host: bool,
    /// Run Cranelift's IR verifier on every function (slow; for tests).
    pub verify: bool,
    /// Extra Cranelift ISA settings over the detected host ones (for example
    /// `("has_fma", "false")` to exercise the fallback paths).
    pub isa_flags: Vec<(String, String)>,
}

impl Default for JitConfig {
    fn default() -> Self {
        JitConfig { optimize: false, detect_host: true, verify: false, isa_flags: Vec::new() }
    }
}

/// The compiler and the executable memory its code lives in.
pub struct Jit {
    stubs: stubs::Stubs,
    isa: OwnedTargetIsa,
    /// The same host with Cranelift's optimisations, for [`CompileOptions::optimize`].
    isa_opt: OwnedTargetIsa,
    arena: arena::Arena,
    ctx: Context,
    fctx: FunctionBuilderContext,
}

impl Jit {
    /// A JIT with an arena of `arena_bytes` (reserved, committed as code is written).
    pub fn new(arena_bytes: usize) -> Result<Jit, JitError> {
        Jit::with_config(arena_bytes, &JitConfig::default())
    }

    /// A JIT with explicit code-generation settings.
    pub fn with_config(arena_bytes: usize, config: &JitConfig) -> Result<Jit, JitError> {
        let stubs = stubs::get()?;
        Ok(Jit {
            stubs,
            isa: backend::host_isa(config.optimize, config.detect_host, config.verify, &config.isa_flags)?,
            isa_opt: backend::host_isa(true, config.detect_host, config.verify, &config.isa_flags)?,
            arena: arena::Arena::new(arena_bytes)?,
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
        })
    }

    /// The trampoline that runs compiled code; valid for the whole process lifetime.
    pub fn enter_fn(&self) -> EnterFn {
        stubs::enter_fn().expect("built by Jit::new")
    }

    /// Compiles `block` into the arena.
    ///
    /// A panic while compiling (a bug in lowering or in Cranelift) becomes an error: the
    /// block then runs without this tier. Unwinding must not go further: on the compile
    /// thread it would drop the arena that running code lives in.
    pub fn compile(&mut self, block: &Block, opts: &CompileOptions) -> Result<Compiled, JitError> {
        let mark = self.arena.data_mark();
        let r = self.guarded(|jit| {
            let n_slots = lower::slot_count(block);
            jit.compile_at(block, opts, n_slots)
        });
        if r.is_err() {
            self.arena.release_data_to(mark);
        }
        r
    }

    /// Runs `f`, turning a panic into [`JitError::Codegen`] and starting the next function
    /// from fresh builder state (the panic may have left it half-built).
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Jit) -> Result<T, JitError>) -> Result<T, JitError> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self))) {
            Ok(r) => r,
            Err(payload) => {
                self.ctx = Context::new();
                self.fctx = FunctionBuilderContext::new();
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(JitError::Codegen(format!("internal error while compiling: {msg}")))
            }
        }
    }

    fn compile_at(&mut self, block: &Block, opts: &CompileOptions, n_slots: u32) -> Result<Compiled, JitError> {
        let slots = self.arena.alloc_data(8 * n_slots as usize)?;
        self.build(block, opts, slots)?;
        let isa = if opts.optimize { &self.isa_opt } else { &self.isa };
        let e = backend::compile(&mut self.ctx, isa)?;
        backend::check_relocs(&e)?;
        let dst = self.arena.alloc_code(e.bytes.len())?;
        // SAFETY: dst was just reserved for e.bytes.len() bytes.
        unsafe { backend::install(&e, dst)? };
        Ok(Compiled { entry: dst as u64, slots, n_slots, code_size: e.bytes.len() as u32 })
    }

    /// Lowers `block` into `self.ctx.func`.
    fn build(&mut self, block: &Block, opts: &CompileOptions, slots: u64) -> Result<(), JitError> {
        self.ctx.clear();
        self.ctx.func = Function::with_name_signature(UserFuncName::default(), stubs::block_signature());
        lower::lower_block(&mut self.ctx.func, &mut self.fctx, self.isa.frontend_config(), block, opts, slots, &self.stubs)
    }

    /// Compiles `block` without installing it and returns the host code listing (Cranelift's
    /// VCode after register allocation) as [`Jit::compile`] would make it, for debugging and
    /// code-quality tests. Link slots are shown at address 0.
    pub fn disassemble(&mut self, block: &Block, opts: &CompileOptions) -> Result<String, JitError> {
        self.guarded(|jit| {
            jit.build(block, opts, 0)?;
            jit.ctx.set_disasm(true);
            let isa = if opts.optimize { &jit.isa_opt } else { &jit.isa };
            let r = backend::compile(&mut jit.ctx, isa).map(|e| e.vcode.unwrap_or_default().to_string());
            jit.ctx.set_disasm(false);
            r
        })
    }

    /// Compiles `block` without installing it and returns its machine code (for listings);
    /// link slots are at address 0.
    pub fn machine_code(&mut self, block: &Block, opts: &CompileOptions) -> Result<Vec<u8>, JitError> {
        self.guarded(|jit| {
            jit.build(block, opts, 0)?;
            let isa = if opts.optimize { &jit.isa_opt } else { &jit.isa };
            backend::compile(&mut jit.ctx, isa).map(|e| e.bytes.to_vec())
        })
    }

    /// Forgets all compiled code and link slots. The caller guarantees none of it runs any
    /// more (no CPU is inside generated code and no jump cache or link slot points to it).
    pub fn reset(&mut self) {
        self.arena.reset();
    }

    /// Bytes of the arena in use (code and link slots).
    pub fn used_bytes(&self) -> usize {
        self.arena.used()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_ir::testing::DESC;
    use ferrite_ir::{Builder, Reg};

    #[test]
    fn a_panic_while_compiling_is_an_error_and_the_jit_keeps_working() {
        let mut jit = Jit::new(1 << 20).unwrap();
        let used = jit.used_bytes();
        // A half-built function is left behind, as a lowering bug would leave it.
        let err = jit
            .guarded(|jit| {
                jit.ctx.func.signature = stubs::block_signature();
                let mut b = cranelift_frontend::FunctionBuilder::new(&mut jit.ctx.func, &mut jit.fctx);
                let entry = b.create_block();
                b.switch_to_block(entry);
                panic!("lowering bug");
            })
            .map(|()| ())
            .unwrap_err();
        assert!(matches!(&err, JitError::Codegen(m) if m.contains("internal error") && m.contains("lowering bug")), "{err}");
        assert_eq!(jit.used_bytes(), used);
        let mut blk = Block::new(&DESC, 0x100);
        let mut b = Builder::new(&mut blk);
        b.insn_start(0x100);
        let x = b.get_reg(Reg(0));
        let x = b.add_imm(x, 1);
        b.set_reg(Reg(0), x);
        b.exit_direct(0x104);
        jit.compile(&blk, &CompileOptions::default()).expect("compiles after the panic");
    }
}
