//! Encoding instructions by pattern name through the decoder's own table
//! (`ferrite_ppc::decode::PATTERNS`), so encodings live in one place.

use ferrite_ppc::decode::{PatternInfo, PATTERNS};
use std::collections::HashMap;
use std::sync::OnceLock;

fn table() -> &'static HashMap<&'static str, &'static PatternInfo> {
    static T: OnceLock<HashMap<&'static str, &'static PatternInfo>> = OnceLock::new();
    T.get_or_init(|| PATTERNS.iter().map(|p| (p.name, p)).collect())
}

/// The encoding of pattern `name` with `fields` (unspecified fields are 0). Panics on an
/// unknown pattern or field: that is a bug in the generator.
pub fn enc(name: &str, fields: &[(&str, i64)]) -> u32 {
    let p = table().get(name).unwrap_or_else(|| panic!("no pattern {name}"));
    let mut w = p.value;
    for &(f, v) in fields {
        let info = p.fields.iter().find(|x| x.name == f).unwrap_or_else(|| panic!("{name} has no field {f}"));
        let total: u32 = info.segments.iter().map(|s| s.1).sum();
        let v = v as u64 & ((1u64 << total) - 1);
        // The value's bits go to the segments most-significant first.
        let mut remaining = total;
        for &(pos, len) in info.segments {
            remaining -= len;
            let part = ((v >> remaining) & ((1 << len) - 1)) as u32;
            w |= part << pos;
        }
    }
    w
}

/// Names of every pattern.
pub fn names() -> impl Iterator<Item = &'static str> {
    PATTERNS.iter().map(|p| p.name)
}

/// Whether the pattern `name` has field `f`.
pub fn has_field(name: &str, f: &str) -> bool {
    table().get(name).is_some_and(|p| p.fields.iter().any(|x| x.name == f))
}
