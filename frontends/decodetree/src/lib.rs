//! A build-time generator of instruction decoders from declarative `.decode` tables, in the
//! style of QEMU's decodetree (`docs/devel/decodetree.rst`).
//!
//! # Syntax (32-bit instructions, bits written most significant first)
//!
//! ```text
//! # comment;  ### Section heading
//! %field  pos:len ...  [!function=name]   field from bit ranges (LSB position); `pos:slen` signed
//! &args   a b c                           an argument set (a struct passed to the translator)
//! @fmt    <bits and fields> [&args] [a=%field] [b=3]
//! NAME    <bits and fields> [@fmt] [a=%field] [b=3]
//! { NAME ... NAME ... }                   overlap group: first match wins, in order
//! ```
//!
//! Bits are `0`, `1`, `.` (belongs to a field) and `-` (ignored). Inline fields are
//! `name:len` (unsigned) or `name:slen` (signed). Every pattern gets a method
//! `fn trans_name(&mut self, a: &ArgX) -> Self::Output` on the generated `Decode` trait and
//! `decode(t, insn)` walks a decision tree over the bits fixed in all remaining candidates.
//! Two patterns that can match the same word outside an overlap group are an error.

mod gen;
mod parse;
mod tree;

pub use parse::{parse, Table};

/// A problem in a `.decode` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// 1-based line number (0 when not tied to a line).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for Error {}

/// Parses `source` and returns the Rust source of its decoder.
pub fn generate(source: &str) -> Result<String, Error> {
    let table = parse(source)?;
    let tree = tree::build(&table)?;
    Ok(gen::emit(&table, &tree))
}

/// For build scripts: generates the decoder of `input` into `OUT_DIR/output`, and also into
/// `$FERRITE_DECODE_DUMP/output` when that variable is set. Panics with the file and line of
/// the first error (a build failure is what a broken table should cause).
pub fn build(input: &str, output: &str) {
    println!("cargo:rerun-if-changed={input}");
    println!("cargo:rerun-if-env-changed=FERRITE_DECODE_DUMP");
    let src = std::fs::read_to_string(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    let code = generate(&src).unwrap_or_else(|e| panic!("{input}:{}: {}", e.line, e.message));
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(std::path::Path::new(&out).join(output), &code).expect("writing the decoder");
    if let Ok(dir) = std::env::var("FERRITE_DECODE_DUMP") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(std::path::Path::new(&dir).join(output), &code);
    }
}
