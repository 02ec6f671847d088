//! The quality of generated code: a snapshot of the x86-64 for a small block, and bounds on
//! the host instructions a guest memory access costs on the fast path.

use ferrite_ir::testing::DESC;
use ferrite_ir::{Block, Builder, Reg, Type};
use ferrite_jit::{CompileOptions, Jit, JitConfig};
use ferrite_softmmu::{Endian, MemOp};

/// Disassembles `code` (AT&T syntax); absolute addresses (helpers, slow paths) become `ADDR`
/// so the listing does not depend on where the test binary is loaded.
fn listing(code: &[u8]) -> Vec<String> {
    use capstone::prelude::*;
    let cs = Capstone::new().x86().mode(arch::x86::ArchMode::Mode64).syntax(arch::x86::ArchSyntax::Att).build().unwrap();
    let insns = cs.disasm_all(code, 0).unwrap();
    insns
        .iter()
        .map(|i| {
            let ops = i.op_str().unwrap_or("");
            // movabs materialises helper and shim addresses; hide them.
            let ops = match (i.mnemonic(), ops.split_once(',')) {
                (Some("movabsq"), Some((_, reg))) => format!("$ADDR,{reg}"),
                _ => ops.to_string(),
            };
            format!("{:5x}: {} {}", i.address(), i.mnemonic().unwrap_or("?"), ops).trim_end().to_string()
        })
        .collect()
}

/// Instructions before the first tail call, the block's hot path when its exit is linked
/// (cold blocks are laid out after it).
fn hot_path(lines: &[String]) -> usize {
    lines.iter().position(|l| l.contains("jmp") && l.contains('*')).expect("a tail call") + 1
}

/// Guest `lwz r1, 8(r0); addi r1, r1, 1; stw r1, 8(r0)` and a direct exit.
fn load_add_store() -> Block {
    let be32 = MemOp::new(2, false, Endian::Big, 0);
    let mut blk = Block::new(&DESC, 0x100);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0x100);
    let base = b.get_reg(Reg(0));
    let ea = b.add_imm(base, 8);
    let v = b.load(Type::I32, be32, ea);
    b.insn_start(0x104);
    let v1 = b.add_imm(v, 1);
    let z = b.zext(Type::I64, v1);
    b.set_reg(Reg(1), z);
    b.insn_start(0x108);
    b.store(be32, ea, v1);
    b.exit_direct(0x10c);
    blk
}

#[test]
fn small_block_listing_matches_the_snapshot() {
    // Baseline x86-64, so the listing does not depend on the machine running the test.
    let mut jit = Jit::with_config(1 << 20, &JitConfig { detect_host: false, ..JitConfig::default() }).unwrap();
    let code = jit.machine_code(&load_add_store(), &CompileOptions::default()).unwrap();
    let lines = listing(&code);
    let text = format!("# hot path: {} instructions\n{}\n", hot_path(&lines), lines.join("\n"));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/load_add_store.x86");
    if std::env::var_os("FERRITE_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        want == text,
        "generated code changed; review it and rerun with FERRITE_BLESS=1 to accept:\n{text}\n--- snapshot:\n{want}"
    );
}

/// A block doing `n` accesses of `op` at r0 + 8k (summed into r1 for loads).
fn accesses(n: u64, op: MemOp, store: bool) -> Block {
    let mut blk = Block::new(&DESC, 0x100);
    let mut b = Builder::new(&mut blk);
    b.insn_start(0x100);
    let base = b.get_reg(Reg(0));
    let mut acc = b.get_reg(Reg(1));
    for k in 0..n {
        let ea = b.add_imm(base, 8 * k);
        if store {
            b.store(op, ea, acc);
        } else {
            let v = b.load(Type::I64, op, ea);
            acc = b.add(acc, v);
        }
    }
    b.set_reg(Reg(1), acc);
    b.exit_direct(0x104);
    blk
}

#[test]
fn fast_path_memory_accesses_stay_short() {
    let mut jit = Jit::new(1 << 20).unwrap();
    let opts = CompileOptions::default();
    let cases = [
        // Bounds include the address add (and the accumulating add for loads).
        ("load u64 le", MemOp::new(3, false, Endian::Little, 0), false, 13),
        ("load u32 be", MemOp::new(2, false, Endian::Big, 0), false, 15),
        ("load s16 be", MemOp::new(1, true, Endian::Big, 1), false, 15),
        ("store u64 be", MemOp::new(3, false, Endian::Big, 0), true, 13),
        ("store u8", MemOp::new(0, false, Endian::Big, 0), true, 11),
    ];
    for (name, op, store, bound) in cases {
        let mut count = |n| hot_path(&listing(&jit.machine_code(&accesses(n, op, store), &opts).unwrap()));
        let (one, five) = (count(1), count(5));
        if std::env::var_os("FERRITE_DUMP").is_some() {
            println!("{}", listing(&jit.machine_code(&accesses(2, op, store), &opts).unwrap()).join("\n"));
        }
        let per_access = (five - one) as f64 / 4.0;
        println!("{name}: {per_access} host instructions per access on the fast path ({one} for a 1-access block)");
        assert!(per_access <= bound as f64, "{name}: {per_access} instructions per access");
    }
}
