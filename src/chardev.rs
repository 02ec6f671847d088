//! Character device specifications in QEMU's spellings: the short form of `-serial` and
//! `-virtioconsole` (`stdio`, `file:PATH`, `unix:PATH,server,nowait`, `tcp:HOST:PORT,...`,
//! `null`, `chardev:ID`) and `-chardev TYPE,id=ID,...` (`stdio`, `null`, `file,path=`,
//! `socket,path=` or `socket,host=,port=`, with `server=on|off` and `wait=on|off`).

use std::collections::HashMap;
use std::path::PathBuf;

/// A host character backend, before it is opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chardev {
    /// The terminal (with the Ctrl-A keys).
    Stdio,
    /// Output dropped, no input.
    Null,
    /// Output written to a file (truncated first unless `append`); no input.
    File {
        /// The file.
        path: PathBuf,
        /// Append instead of truncating.
        append: bool,
    },
    /// A stream socket: output to the peer, input from it.
    Socket {
        /// Where.
        addr: SocketAddr,
        /// Listen (true) or connect.
        server: bool,
        /// A server waits for its first client before the machine starts.
        wait: bool,
    },
}

/// A socket address of a character backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketAddr {
    /// A Unix-domain socket path.
    Unix(String),
    /// TCP host (empty: all addresses for a server, localhost for a client) and port.
    Tcp(String, u16),
}

impl std::fmt::Display for SocketAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketAddr::Unix(p) => write!(f, "unix:{p}"),
            SocketAddr::Tcp(h, p) => write!(f, "tcp:{h}:{p}"),
        }
    }
}

/// What a short-form backend argument names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Short {
    /// No backend (`none`).
    None,
    /// A backend.
    Dev(Chardev),
    /// `chardev:ID`: the `-chardev` with that id.
    Ref(String),
}

const SHORT_FORMS: &str = "stdio, mon:stdio, file:PATH, unix:PATH[,server][,nowait], tcp:[HOST]:PORT[,server][,nowait], chardev:ID, null or none";

/// Parses the short form `opt` (`-serial`, `-virtioconsole`) takes.
pub fn parse_short(opt: &str, spec: &str) -> Result<Short, String> {
    let socket = |addr: SocketAddr, flags: &str| -> Result<Short, String> {
        let (server, wait) = socket_flags(flags.split(',').filter(|f| !f.is_empty()).map(|f| f.split_once('=').unwrap_or((f, ""))), opt, spec)?;
        Ok(Short::Dev(Chardev::Socket { addr, server, wait }))
    };
    Ok(match spec {
        "stdio" | "mon:stdio" => Short::Dev(Chardev::Stdio),
        "null" => Short::Dev(Chardev::Null),
        "none" => Short::None,
        _ if spec.starts_with("file:") => Short::Dev(Chardev::File { path: PathBuf::from(&spec[5..]), append: false }),
        _ if spec.starts_with("chardev:") => Short::Ref(spec[8..].to_string()),
        _ if spec.starts_with("unix:") => {
            let (path, flags) = spec[5..].split_once(',').unwrap_or((&spec[5..], ""));
            socket(SocketAddr::Unix(path.to_string()), flags)?
        }
        _ if spec.starts_with("tcp:") => {
            let (addr, flags) = spec[4..].split_once(',').unwrap_or((&spec[4..], ""));
            let (host, port) = addr.rsplit_once(':').ok_or_else(|| format!("{opt} {spec}: expected tcp:[HOST]:PORT"))?;
            let port = port.parse().map_err(|_| format!("{opt} {spec}: bad port '{port}'"))?;
            socket(SocketAddr::Tcp(host.to_string(), port), flags)?
        }
        _ => return Err(format!("{opt} {spec}: unsupported backend (use {SHORT_FORMS})")),
    })
}

/// `server`/`nowait` flags (bare words, as QEMU's older spelling, or `=on|off`) of a socket:
/// (server, wait). A server waits for its first client unless told not to.
fn socket_flags<'a>(flags: impl Iterator<Item = (&'a str, &'a str)>, opt: &str, spec: &str) -> Result<(bool, bool), String> {
    let (mut server, mut wait) = (false, true);
    for (k, v) in flags {
        let on = match v {
            "" | "on" | "yes" | "true" => true,
            "off" | "no" | "false" => false,
            _ => return Err(format!("{opt} {spec}: {k}={v}: expected on or off")),
        };
        match k {
            "server" => server = on,
            "wait" => wait = on,
            "nowait" => wait = !on,
            "nodelay" => {}
            _ => return Err(format!("{opt} {spec}: unknown socket option '{k}' (server, wait, nowait)")),
        }
    }
    Ok((server, wait))
}

/// Parses `-chardev TYPE,id=ID,...` into its id and backend.
pub fn parse_chardev(spec: &str) -> Result<(String, Chardev), String> {
    let items = ferrite_machines::drive::split_options(spec);
    let (ty, rest) = items.split_first().ok_or("-chardev: empty option")?;
    let kv: Vec<(&str, &str)> = rest.iter().map(|i| i.split_once('=').unwrap_or((i.as_str(), ""))).collect();
    let id = kv.iter().find(|(k, _)| *k == "id").map(|(_, v)| v.to_string()).filter(|v| !v.is_empty());
    let id = id.ok_or_else(|| format!("-chardev {ty}: id= is required"))?;
    let get = |key: &str| kv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let allow = |keys: &[&str]| -> Result<(), String> {
        match kv.iter().find(|(k, _)| *k != "id" && !keys.contains(k)) {
            Some((k, _)) if matches!(*k, "mux" | "logfile" | "logappend") => Err(format!("-chardev {ty}: {k}= is not supported")),
            Some((k, _)) => Err(format!("-chardev {ty}: unknown option '{k}' (accepted: id{})", keys.iter().map(|k| format!(", {k}")).collect::<String>())),
            None => Ok(()),
        }
    };
    let dev = match ty.as_str() {
        "stdio" => {
            allow(&["signal"])?;
            Chardev::Stdio
        }
        "null" => {
            allow(&[])?;
            Chardev::Null
        }
        "file" => {
            allow(&["path", "append"])?;
            let path = get("path").filter(|p| !p.is_empty()).ok_or("-chardev file: path= is required")?;
            Chardev::File { path: PathBuf::from(path), append: matches!(get("append"), Some("on" | "yes" | "true" | "")) }
        }
        "socket" => {
            allow(&["path", "host", "port", "server", "wait", "nowait", "nodelay"])?;
            let addr = match (get("path"), get("port")) {
                (Some(p), None) if !p.is_empty() => SocketAddr::Unix(p.to_string()),
                (None, Some(port)) => SocketAddr::Tcp(get("host").unwrap_or("").to_string(), port.parse().map_err(|_| format!("-chardev socket: bad port '{port}'"))?),
                _ => return Err("-chardev socket: give path=PATH (Unix) or port=PORT[,host=HOST] (TCP)".into()),
            };
            let flags = kv.iter().copied().filter(|(k, _)| matches!(*k, "server" | "wait" | "nowait" | "nodelay"));
            let (server, wait) = socket_flags(flags, "-chardev", spec)?;
            Chardev::Socket { addr, server, wait }
        }
        _ => return Err(format!("-chardev {ty}: not supported (stdio, null, file and socket are)")),
    };
    Ok((id, dev))
}

/// The `-chardev`s of a command line; each may be used by one device.
#[derive(Debug, Default)]
pub struct Registry {
    defs: HashMap<String, Option<Chardev>>,
}

impl Registry {
    /// Parses every `-chardev` (duplicate ids are an error).
    pub fn new(specs: &[String]) -> Result<Registry, String> {
        let mut defs = HashMap::new();
        for spec in specs {
            let (id, dev) = parse_chardev(spec)?;
            if defs.insert(id.clone(), Some(dev)).is_some() {
                return Err(format!("-chardev: duplicate id '{id}'"));
            }
        }
        Ok(Registry { defs })
    }

    /// Takes the chardev `id` for `user` (it cannot be used twice).
    pub fn take(&mut self, id: &str, user: &str) -> Result<Chardev, String> {
        let slot = self.defs.get_mut(id).ok_or_else(|| format!("{user}: no -chardev with id '{id}'"))?;
        slot.take().ok_or_else(|| format!("{user}: -chardev '{id}' is already used by another device"))
    }

    /// Ids of chardevs no device took.
    pub fn unused(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.defs.iter().filter(|(_, d)| d.is_some()).map(|(id, _)| id.as_str()).collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(addr: SocketAddr, server: bool, wait: bool) -> Chardev {
        Chardev::Socket { addr, server, wait }
    }

    #[test]
    fn short_forms() {
        assert_eq!(parse_short("-serial", "mon:stdio"), Ok(Short::Dev(Chardev::Stdio)));
        assert_eq!(parse_short("-serial", "none"), Ok(Short::None));
        assert_eq!(parse_short("-serial", "chardev:c0"), Ok(Short::Ref("c0".into())));
        assert_eq!(parse_short("-serial", "file:/tmp/x"), Ok(Short::Dev(Chardev::File { path: "/tmp/x".into(), append: false })));
        let u = SocketAddr::Unix("/tmp/s".into());
        assert_eq!(parse_short("-serial", "unix:/tmp/s,server,nowait"), Ok(Short::Dev(sock(u.clone(), true, false))));
        assert_eq!(parse_short("-serial", "unix:/tmp/s,server=on,wait=off"), Ok(Short::Dev(sock(u.clone(), true, false))));
        assert_eq!(parse_short("-serial", "unix:/tmp/s"), Ok(Short::Dev(sock(u, false, true))));
        let t = SocketAddr::Tcp("".into(), 4444);
        assert_eq!(parse_short("-virtioconsole", "tcp::4444,server,nowait"), Ok(Short::Dev(sock(t, true, false))));
        assert!(parse_short("-serial", "pty").unwrap_err().contains("unsupported backend"));
        assert!(parse_short("-serial", "unix:/x,bogus").unwrap_err().contains("unknown socket option 'bogus'"));
        assert!(parse_short("-serial", "tcp:4444").unwrap_err().contains("tcp:[HOST]:PORT"));
    }

    #[test]
    fn chardev_forms() {
        assert_eq!(parse_chardev("stdio,id=c0,signal=off"), Ok(("c0".into(), Chardev::Stdio)));
        assert_eq!(parse_chardev("null,id=n"), Ok(("n".into(), Chardev::Null)));
        assert_eq!(parse_chardev("file,id=f,path=/tmp/a,,b"), Ok(("f".into(), Chardev::File { path: "/tmp/a,b".into(), append: false })));
        let u = SocketAddr::Unix("/tmp/s".into());
        assert_eq!(parse_chardev("socket,id=s,path=/tmp/s,server=on,wait=off"), Ok(("s".into(), sock(u.clone(), true, false))));
        assert_eq!(parse_chardev("socket,id=s,path=/tmp/s,server,nowait"), Ok(("s".into(), sock(u.clone(), true, false))));
        assert_eq!(parse_chardev("socket,id=s,path=/tmp/s"), Ok(("s".into(), sock(u, false, true))));
        let t = SocketAddr::Tcp("127.0.0.1".into(), 5000);
        assert_eq!(parse_chardev("socket,id=t,host=127.0.0.1,port=5000,server=on"), Ok(("t".into(), sock(t, true, true))));
    }

    #[test]
    fn chardev_refusals_say_why() {
        let err = |s: &str| parse_chardev(s).unwrap_err();
        assert!(err("file,path=/x").contains("id= is required"));
        assert!(err("file,id=f").contains("path= is required"));
        assert!(err("pty,id=p").contains("not supported"));
        assert!(err("stdio,id=c,mux=on").contains("mux= is not supported"));
        assert!(err("socket,id=s").contains("path=PATH"));
        assert!(err("socket,id=s,path=/x,port=1").contains("path=PATH"));
        assert!(err("socket,id=s,path=/x,server=maybe").contains("on or off"));
        assert!(err("null,id=n,path=/x").contains("unknown option 'path'"));
        let mut r = Registry::new(&["null,id=a".into(), "stdio,id=b".into()]).unwrap();
        assert_eq!(r.take("a", "-device virtconsole"), Ok(Chardev::Null));
        assert!(r.take("a", "-serial").unwrap_err().contains("already used"));
        assert!(r.take("zz", "-serial").unwrap_err().contains("no -chardev with id 'zz'"));
        assert_eq!(r.unused(), vec!["b"]);
        assert!(Registry::new(&["null,id=a".into(), "null,id=a".into()]).unwrap_err().contains("duplicate id"));
    }
}
