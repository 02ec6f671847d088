//! Parsing `.decode` tables into fields, argument sets, formats and patterns.

use crate::Error;
use std::collections::BTreeMap;

/// A bit range of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// LSB position.
    pub pos: u32,
    /// Length in bits.
    pub len: u32,
}

/// A field: bit ranges concatenated (first is most significant), optional sign and mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Segments, most significant first.
    pub segments: Vec<Segment>,
    /// Sign-extend the result.
    pub signed: bool,
    /// Function applied to the extracted value.
    pub function: Option<String>,
}

/// Where an argument's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgValue {
    /// A field of the instruction.
    Field(Field),
    /// A constant.
    Const(i64),
}

/// One pattern, fully resolved.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// Name as written.
    pub name: String,
    /// Source line.
    pub line: usize,
    /// Bits that must match.
    pub mask: u32,
    /// Their values.
    pub value: u32,
    /// Name of the argument set.
    pub args: String,
    /// Name of the format (or the pattern itself when none).
    pub format: String,
    /// Argument values by name.
    pub values: BTreeMap<String, ArgValue>,
    /// Overlap group index, if inside `{ }`.
    pub group: Option<usize>,
}

/// An argument set: a struct with named members and their signedness.
#[derive(Clone, Debug)]
pub struct ArgSet {
    /// Member names in declaration order.
    pub members: Vec<String>,
    /// Whether each member is signed (decided by the fields feeding it).
    pub signed: BTreeMap<String, bool>,
    /// Declared with `&` (else implicit per format or pattern).
    pub explicit: bool,
}

/// A parsed table.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Argument sets by name.
    pub argsets: BTreeMap<String, ArgSet>,
    /// Patterns in file order.
    pub patterns: Vec<Pattern>,
}

struct Format {
    mask: u32,
    value: u32,
    args: Option<String>,
    values: BTreeMap<String, ArgValue>,
    fields_at: Vec<(String, Field)>,
}

/// Bits, inline fields and references of one format or pattern line.
struct Parsed {
    mask: u32,
    value: u32,
    fields: Vec<(String, Field)>,
    format: Option<String>,
    args: Option<String>,
    assigns: Vec<(String, String)>,
}

fn err(line: usize, m: impl Into<String>) -> Error {
    Error { line, message: m.into() }
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_') && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

fn parse_num(s: &str) -> Option<i64> {
    let (neg, t) = s.strip_prefix('-').map_or((false, s), |t| (true, t));
    let v = if let Some(h) = t.strip_prefix("0x") { i64::from_str_radix(h, 16).ok()? } else { t.parse().ok()? };
    Some(if neg { -v } else { v })
}

/// Parses a `pos:len` / `pos:slen` segment.
fn parse_segment(line: usize, s: &str) -> Result<(Segment, bool), Error> {
    let (p, l) = s.split_once(':').ok_or_else(|| err(line, format!("bad field segment '{s}'")))?;
    let (signed, l) = l.strip_prefix('s').map_or((false, l), |l| (true, l));
    let pos: u32 = p.parse().map_err(|_| err(line, format!("bad position in '{s}'")))?;
    let len: u32 = l.parse().map_err(|_| err(line, format!("bad length in '{s}'")))?;
    if len == 0 || pos + len > 32 {
        return Err(err(line, format!("segment '{s}' outside the 32-bit word")));
    }
    Ok((Segment { pos, len }, signed))
}

fn parse_elements(line: usize, toks: &[&str]) -> Result<Parsed, Error> {
    let mut p = Parsed { mask: 0, value: 0, fields: vec![], format: None, args: None, assigns: vec![] };
    let mut bit = 32i32; // next bit position to fill, counting down
    for &t in toks {
        if let Some(f) = t.strip_prefix('@') {
            p.format = Some(f.to_string());
        } else if let Some(a) = t.strip_prefix('&') {
            p.args = Some(a.to_string());
        } else if let Some((name, v)) = t.split_once('=') {
            p.assigns.push((name.to_string(), v.to_string()));
        } else if t.chars().all(|c| matches!(c, '0' | '1' | '.' | '-')) {
            for c in t.chars() {
                bit -= 1;
                if bit < 0 {
                    return Err(err(line, "more than 32 bits"));
                }
                match c {
                    '0' => p.mask |= 1 << bit,
                    '1' => {
                        p.mask |= 1 << bit;
                        p.value |= 1 << bit;
                    }
                    _ => {}
                }
            }
        } else if let Some((name, len)) = t.split_once(':') {
            if !is_ident(name) {
                return Err(err(line, format!("bad field name '{name}'")));
            }
            let (signed, l) = len.strip_prefix('s').map_or((false, len), |l| (true, l));
            let len: i32 = l.parse().map_err(|_| err(line, format!("bad field length in '{t}'")))?;
            bit -= len;
            if bit < 0 || len <= 0 {
                return Err(err(line, "more than 32 bits"));
            }
            p.fields.push((name.to_string(), Field { segments: vec![Segment { pos: bit as u32, len: len as u32 }], signed, function: None }));
        } else {
            return Err(err(line, format!("unexpected '{t}'")));
        }
    }
    if bit != 0 && bit != 32 {
        return Err(err(line, format!("bits do not add up to 32 ({} given)", 32 - bit)));
    }
    Ok(p)
}

/// Parses a whole table.
pub fn parse(src: &str) -> Result<Table, Error> {
    let mut fields: BTreeMap<String, Field> = BTreeMap::new();
    let mut formats: BTreeMap<String, Format> = BTreeMap::new();
    let mut table = Table::default();
    let mut group: Option<usize> = None;
    let mut ngroups = 0;
    // Join continuation lines ending in '\'.
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut acc = String::new();
    let mut start = 0;
    for (i, raw) in src.lines().enumerate() {
        let l = raw.split('#').next().unwrap_or("").trim_end();
        if acc.is_empty() {
            start = i + 1;
        }
        if let Some(x) = l.strip_suffix('\\') {
            acc.push_str(x);
            acc.push(' ');
            continue;
        }
        acc.push_str(l);
        lines.push((start, std::mem::take(&mut acc)));
    }
    for (line, text) in lines {
        let toks: Vec<&str> = text.split_whitespace().collect();
        let Some(&first) = toks.first() else { continue };
        if first == "{" {
            if group.is_some() {
                return Err(err(line, "nested overlap groups are not supported"));
            }
            group = Some(ngroups);
            ngroups += 1;
            continue;
        }
        if first == "}" {
            if group.take().is_none() {
                return Err(err(line, "'}' without '{'"));
            }
            continue;
        }
        if let Some(name) = first.strip_prefix('%') {
            let mut f = Field { segments: vec![], signed: false, function: None };
            for t in &toks[1..] {
                if let Some(func) = t.strip_prefix("!function=") {
                    f.function = Some(func.to_string());
                } else {
                    let (seg, s) = parse_segment(line, t)?;
                    if f.segments.is_empty() {
                        f.signed = s;
                    }
                    f.segments.push(seg);
                }
            }
            if f.segments.is_empty() {
                return Err(err(line, format!("field %{name} has no bits")));
            }
            if fields.insert(name.to_string(), f).is_some() {
                return Err(err(line, format!("field %{name} defined twice")));
            }
        } else if let Some(name) = first.strip_prefix('&') {
            let members: Vec<String> = toks[1..].iter().map(|s| s.to_string()).collect();
            if let Some(bad) = members.iter().find(|m| !is_ident(m)) {
                return Err(err(line, format!("bad member name '{bad}'")));
            }
            table.argsets.insert(name.to_string(), ArgSet { members, signed: BTreeMap::new(), explicit: true });
        } else if let Some(name) = first.strip_prefix('@') {
            let p = parse_elements(line, &toks[1..])?;
            if p.format.is_some() {
                return Err(err(line, "a format can not use another format"));
            }
            let mut values = BTreeMap::new();
            resolve_assigns(line, &p.assigns, &fields, &mut values)?;
            for (n, f) in &p.fields {
                values.insert(n.clone(), ArgValue::Field(f.clone()));
            }
            formats.insert(name.to_string(), Format { mask: p.mask, value: p.value, args: p.args, values, fields_at: p.fields });
        } else {
            if !is_ident(first) {
                return Err(err(line, format!("unexpected '{first}'")));
            }
            let p = parse_elements(line, &toks[1..])?;
            let (mut mask, mut value) = (p.mask, p.value);
            let mut values = BTreeMap::new();
            let (fmt_name, args_name) = match &p.format {
                Some(fname) => {
                    let f = formats.get(fname).ok_or_else(|| err(line, format!("unknown format @{fname}")))?;
                    if f.mask & mask & (f.value ^ value) != 0 {
                        return Err(err(line, format!("fixed bits conflict with format @{fname}")));
                    }
                    for (n, fld) in &f.fields_at {
                        let fm = fld.segments.iter().fold(0u32, |m, s| m | (((1u64 << s.len) - 1) << s.pos) as u32);
                        if fm & mask != 0 {
                            return Err(err(line, format!("field {n} of @{fname} overlaps fixed bits")));
                        }
                    }
                    mask |= f.mask;
                    value |= f.value;
                    values = f.values.clone();
                    (fname.clone(), f.args.clone().unwrap_or_else(|| fname.clone()))
                }
                None => (first.to_string(), p.args.clone().unwrap_or_else(|| first.to_lowercase())),
            };
            for (n, f) in &p.fields {
                let fm = f.segments.iter().fold(0u32, |m, s| m | (((1u64 << s.len) - 1) << s.pos) as u32);
                if fm & mask != 0 {
                    return Err(err(line, format!("field {n} overlaps fixed bits")));
                }
                values.insert(n.clone(), ArgValue::Field(f.clone()));
            }
            resolve_assigns(line, &p.assigns, &fields, &mut values)?;
            // Argument set: explicit, or implicit from the values.
            let set = table.argsets.entry(args_name.clone()).or_insert_with(|| ArgSet {
                members: values.keys().cloned().collect(),
                signed: BTreeMap::new(),
                explicit: false,
            });
            for (n, v) in &values {
                if !set.members.contains(n) {
                    if set.explicit {
                        return Err(err(line, format!("'{n}' is not a member of &{args_name}")));
                    }
                    set.members.push(n.clone());
                }
                let s = match v {
                    ArgValue::Field(f) => f.signed || f.function.is_some(),
                    ArgValue::Const(c) => *c < 0,
                };
                let prev = set.signed.entry(n.clone()).or_insert(s);
                *prev |= s;
            }
            if let Some(missing) = set.members.iter().find(|m| !values.contains_key(*m)) {
                return Err(err(line, format!("pattern {first} gives no value for '{missing}' of &{args_name}")));
            }
            table.patterns.push(Pattern { name: first.to_string(), line, mask, value, args: args_name, format: fmt_name, values, group });
        }
    }
    if group.is_some() {
        return Err(err(0, "unterminated overlap group"));
    }
    Ok(table)
}

fn resolve_assigns(line: usize, assigns: &[(String, String)], fields: &BTreeMap<String, Field>, out: &mut BTreeMap<String, ArgValue>) -> Result<(), Error> {
    for (name, v) in assigns {
        if let Some(fname) = v.strip_prefix('%') {
            let f = fields.get(fname).ok_or_else(|| err(line, format!("unknown field %{fname}")))?;
            out.insert(name.clone(), ArgValue::Field(f.clone()));
        } else {
            let c = parse_num(v).ok_or_else(|| err(line, format!("bad value '{v}' for {name}")))?;
            out.insert(name.clone(), ArgValue::Const(c));
        }
    }
    Ok(())
}
