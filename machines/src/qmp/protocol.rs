//! QMP's wire format: a stream of JSON objects each way. Requests are split out of the byte
//! stream by their braces (QMP does not need newlines, and a bad object must not lose the ones
//! after it), then checked for QEMU's members: `execute`, `arguments`, `id`.

use serde_json::{json, Map, Value};

/// A command error as QMP reports it: an error class and a description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QmpError {
    /// QEMU's class name (`GenericError`, `CommandNotFound`, `DeviceNotActive`, ...).
    pub class: &'static str,
    /// What went wrong.
    pub desc: String,
}

impl QmpError {
    /// A `GenericError`.
    pub fn generic(desc: impl Into<String>) -> QmpError {
        QmpError { class: "GenericError", desc: desc.into() }
    }
}

/// One command from the client.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The command name.
    pub execute: String,
    /// Its arguments (an empty object when absent).
    pub arguments: Map<String, Value>,
    /// Echoed back in the response.
    pub id: Option<Value>,
}

/// Splits complete top-level JSON objects off the front of a byte stream.
#[derive(Default)]
pub struct Splitter {
    buf: Vec<u8>,
}

/// What the splitter found.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// A complete object's bytes (braces balanced, strings skipped).
    Object(Vec<u8>),
    /// Bytes outside any object that are not white space: a parse error.
    Junk(Vec<u8>),
}

impl Splitter {
    /// Adds received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete piece, if the buffer holds one.
    pub fn next_piece(&mut self) -> Option<Piece> {
        let start = self.buf.iter().position(|b| !b.is_ascii_whitespace())?;
        if self.buf[start] != b'{' {
            // Junk runs to the next object or line end.
            let end = self.buf[start..].iter().position(|&b| b == b'{' || b == b'\n').map_or(self.buf.len(), |i| start + i);
            let junk = self.buf[start..end].to_vec();
            self.buf.drain(..end);
            return Some(Piece::Junk(junk));
        }
        let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
        for i in start..self.buf.len() {
            let b = self.buf[i];
            if in_str {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        let obj = self.buf[start..=i].to_vec();
                        self.buf.drain(..=i);
                        return Some(Piece::Object(obj));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Bytes held back waiting for the rest of an object.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// Parses one object into a request, checking its members as QEMU does.
pub fn parse_request(bytes: &[u8]) -> Result<Request, (QmpError, Option<Value>)> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| (QmpError::generic(format!("JSON parse error, {e}")), None))?;
    let Value::Object(mut obj) = value else { return Err((QmpError::generic("QMP input must be a JSON object"), None)) };
    let id = obj.remove("id");
    let fail = |desc: String| Err((QmpError::generic(desc), id.clone()));
    if let Some(key) = obj.keys().find(|k| !matches!(k.as_str(), "execute" | "arguments" | "exec-oob")) {
        return fail(format!("QMP input member '{key}' is unexpected"));
    }
    if obj.contains_key("exec-oob") {
        return fail("out-of-band execution is not supported".into());
    }
    let execute = match obj.remove("execute") {
        Some(Value::String(s)) => s,
        Some(_) => return fail("QMP input member 'execute' must be a string".into()),
        None => return fail("QMP input lacks member 'execute'".into()),
    };
    let arguments = match obj.remove("arguments") {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return fail("QMP input member 'arguments' must be an object".into()),
    };
    Ok(Request { execute, arguments, id })
}

/// The greeting sent when a client connects.
pub fn greeting() -> Value {
    json!({ "QMP": { "version": version(), "capabilities": [] } })
}

/// The version reported by the greeting and `query-version`: the QEMU release whose protocol
/// this follows, and ferrite as the package.
pub fn version() -> Value {
    json!({ "qemu": { "major": 7, "minor": 2, "micro": 0 }, "package": concat!("ferrite ", env!("CARGO_PKG_VERSION")) })
}

/// A successful response.
pub fn success(ret: Value, id: Option<Value>) -> Value {
    with_id(json!({ "return": ret }), id)
}

/// An error response.
pub fn failure(err: &QmpError, id: Option<Value>) -> Value {
    with_id(json!({ "error": { "class": err.class, "desc": err.desc } }), id)
}

fn with_id(mut v: Value, id: Option<Value>) -> Value {
    if let (Some(id), Value::Object(m)) = (id, &mut v) {
        m.insert("id".into(), id);
    }
    v
}

/// An asynchronous event, stamped with the host's wall-clock time as QEMU stamps them.
pub fn event(name: &str, data: Option<Value>) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut v = json!({ "event": name, "timestamp": { "seconds": now.as_secs(), "microseconds": now.subsec_micros() } });
    if let (Some(d), Value::Object(m)) = (data, &mut v) {
        m.insert("data".into(), d);
    }
    v
}

/// A message as sent: compact JSON and QEMU's CR LF.
pub fn encode(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).expect("a JSON value serialises");
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(chunks: &[&[u8]]) -> Vec<Piece> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c);
            while let Some(p) = s.next_piece() {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn objects_split_across_reads_and_without_newlines() {
        let got = objects(&[b"{\"execute\":", b"\"stop\"}{\"execute\":\"cont\"}\n  {\"a\":{\"b\":[1,{}]}", b"}"]);
        assert_eq!(
            got,
            vec![
                Piece::Object(b"{\"execute\":\"stop\"}".to_vec()),
                Piece::Object(b"{\"execute\":\"cont\"}".to_vec()),
                Piece::Object(b"{\"a\":{\"b\":[1,{}]}}".to_vec()),
            ]
        );
    }

    #[test]
    fn braces_inside_strings_and_escaped_quotes_do_not_count() {
        let got = objects(&[br#"{"execute":"human-monitor-command","arguments":{"command-line":"echo } \" {"}}"#]);
        assert_eq!(got.len(), 1);
        let Piece::Object(o) = &got[0] else { panic!() };
        let r = parse_request(o).unwrap();
        assert_eq!(r.arguments["command-line"], "echo } \" {");
    }

    #[test]
    fn junk_between_objects_is_reported_and_skipped() {
        let got = objects(&[b"hello\n{\"execute\":\"x\"}"]);
        assert_eq!(got, vec![Piece::Junk(b"hello".to_vec()), Piece::Object(b"{\"execute\":\"x\"}".to_vec())]);
    }

    #[test]
    fn requests_are_checked_like_qemus() {
        let r = parse_request(br#"{"execute":"query-status","id":7}"#).unwrap();
        assert_eq!((r.execute.as_str(), r.arguments.len(), r.id), ("query-status", 0, Some(json!(7))));
        let err = |b: &[u8]| parse_request(b).unwrap_err();
        assert_eq!(err(b"[1]").0.desc, "QMP input must be a JSON object");
        assert_eq!(err(br#"{"arguments":{}}"#).0.desc, "QMP input lacks member 'execute'");
        assert_eq!(err(br#"{"execute":"x","frob":1,"id":"a"}"#), (QmpError::generic("QMP input member 'frob' is unexpected"), Some(json!("a"))));
        assert_eq!(err(br#"{"execute":"x","arguments":[]}"#).0.desc, "QMP input member 'arguments' must be an object");
        assert!(err(b"{\"execute\":}").0.desc.starts_with("JSON parse error"));
    }

    #[test]
    fn responses_and_events_are_one_line_each() {
        assert_eq!(encode(&success(json!({}), Some(json!("x")))), b"{\"id\":\"x\",\"return\":{}}\r\n".to_vec());
        let e = failure(&QmpError { class: "CommandNotFound", desc: "The command foo has not been found".into() }, None);
        assert_eq!(e["error"]["class"], "CommandNotFound");
        let ev = event("STOP", None);
        assert_eq!(ev["event"], "STOP");
        assert!(ev["timestamp"]["seconds"].as_u64().unwrap() > 1_700_000_000);
        assert_eq!(greeting()["QMP"]["version"]["qemu"]["major"], 7);
    }
}
