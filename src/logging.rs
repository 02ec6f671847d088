//! QEMU-style `-d` log categories on top of `tracing`.

use anyhow::{bail, Context};
use std::path::Path;
use tracing_subscriber::EnvFilter;

/// Categories and what they show.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("in_asm", "guest code of each translated block"),
    ("ir", "IR of each translated block"),
    ("ir_opt", "IR after the optimisation passes"),
    ("out_asm", "host code of each compiled block (Cranelift's listing)"),
    ("exec", "each block entered from the run loop (chained blocks are not seen; add --no-jit for all)"),
    ("int", "interrupts and exceptions taken"),
    ("mmu", "guest MMU activity"),
    ("unimp", "unimplemented features the guest touched"),
    ("guest_errors", "guest accesses to unassigned or invalid things"),
    ("jit", "JIT compilation"),
    ("stats", "engine statistics at exit"),
];

/// Sets up logging for `-d ITEMS` and `-D FILE`.
pub fn init(items: Option<&str>, file: Option<&Path>) -> anyhow::Result<()> {
    let mut directives = vec!["warn".to_string()];
    for (cat, _) in CATEGORIES {
        directives.push(format!("{cat}=off"));
    }
    if let Some(items) = items {
        for item in items.split(',').filter(|s| !s.is_empty()) {
            if item == "help" {
                println!("Log items (comma separated):");
                for (c, d) in CATEGORIES {
                    println!("{c:<14} {d}");
                }
                std::process::exit(0);
            }
            if !CATEGORIES.iter().any(|(c, _)| *c == item) {
                bail!("-d {item}: unknown log category (see -d help)");
            }
            directives.push(format!("{item}=trace"));
        }
    }
    let filter = EnvFilter::try_new(directives.join(",")).context("log filter")?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true).without_time();
    match file {
        Some(path) => {
            let f = std::fs::File::create(path).with_context(|| format!("-D {}", path.display()))?;
            builder.with_ansi(false).with_writer(std::sync::Mutex::new(f)).init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}
