//! QMP (`-qmp`), QEMU's JSON machine protocol, driven over its Unix socket the way a test
//! harness drives QEMU: capabilities negotiation, run control (`-S`, `cont`, `stop`), queries,
//! the monitor through `human-monitor-command`, memory dumps, reset and the events each of
//! these sends; and bad input, which gets QEMU's error replies and loses nothing after it. Also
//! the monitor on a socket (`-monitor unix:...`), line by line as scripts drive QEMU's.

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::Guest;

const BOOT: Duration = Duration::from_secs(120);

/// A QMP client on a Unix socket.
struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Events received while waiting for responses.
    events: Vec<Value>,
}

impl Qmp {
    /// Connects (retrying while ferrite starts) and reads the greeting.
    fn connect(path: &PathBuf) -> (Qmp, Value) {
        let t0 = Instant::now();
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if t0.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("cannot connect to {}: {e}", path.display()),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut q = Qmp { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream, events: Vec::new() };
        let greeting = q.read();
        (q, greeting)
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("a QMP message");
        assert!(line.ends_with("\r\n"), "QMP lines end in CR LF: {line:?}");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
    }

    /// Sends raw bytes; returns the next response (events are kept aside).
    fn send_raw(&mut self, bytes: &[u8]) -> Value {
        self.writer.write_all(bytes).unwrap();
        loop {
            let v = self.read();
            if v.get("event").is_some() {
                self.events.push(v);
            } else {
                return v;
            }
        }
    }

    /// Runs a command; returns the whole response.
    fn execute(&mut self, cmd: &str, args: Value) -> Value {
        let mut req = json!({ "execute": cmd, "id": cmd });
        if !args.is_null() {
            req["arguments"] = args;
        }
        let r = self.send_raw(format!("{req}\n").as_bytes());
        assert_eq!(r["id"], cmd, "the response carries the request's id: {r}");
        r
    }

    /// Runs a command that must succeed; returns its `return`.
    fn ok(&mut self, cmd: &str, args: Value) -> Value {
        let r = self.execute(cmd, args);
        assert!(r.get("error").is_none(), "{cmd}: {r}");
        r["return"].clone()
    }

    /// Waits for event `name` (one already received counts); returns it.
    fn event(&mut self, name: &str) -> Value {
        loop {
            if let Some(i) = self.events.iter().position(|e| e["event"] == name) {
                return self.events.remove(i);
            }
            let v = self.read();
            assert!(v.get("event").is_some(), "unexpected response while waiting for {name}: {v}");
            self.events.push(v);
        }
    }
}

fn socket_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ferrite-qmp-{tag}-{}.sock", std::process::id()))
}

/// The default Linux image under QMP: stopped at start, started, paused with input waiting,
/// resumed, inspected, dumped, reset, powered off by the guest.
#[test]
fn qmp_runs_and_inspects_a_linux_guest() {
    let path = socket_path("linux");
    let spec = format!("unix:{},server,wait=off", path.display());
    let mut g = Guest::start(&["-nographic", "-S", "-qmp", &spec]);
    let (mut q, greeting) = Qmp::connect(&path);
    assert_eq!(greeting["QMP"]["version"]["qemu"]["major"], 7, "{greeting}");
    let early = q.execute("query-status", Value::Null);
    assert_eq!(early["error"]["class"], "CommandNotFound", "commands wait for capabilities negotiation: {early}");
    q.ok("qmp_capabilities", Value::Null);
    assert_eq!(q.ok("query-status", Value::Null), json!({ "running": false, "singlestep": false, "status": "prelaunch" }));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!g.output().contains("Linux version"), "-S: nothing runs before cont:\n{}", g.output());

    q.ok("cont", Value::Null);
    q.event("RESUME");
    let prompt = " # ";
    g.wait_for("Welcome to ferrite's guest", BOOT);
    g.wait_for(prompt, BOOT);
    assert_eq!(q.ok("query-status", Value::Null)["status"], "running");
    let cpus = q.ok("query-cpus-fast", Value::Null);
    assert_eq!(cpus.as_array().map(Vec::len), Some(1), "{cpus}");

    // Stopped, the guest does not answer typed input; after cont it does.
    q.ok("stop", Value::Null);
    q.event("STOP");
    assert_eq!(q.ok("query-status", Value::Null)["status"], "paused");
    let before = g.output().len();
    g.send(b"echo stopped-$((40+2))\r");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!g.output()[before..].contains("stopped-42"), "a stopped guest ran a command:\n{}", g.output());
    let regs = q.ok("human-monitor-command", json!({ "command-line": "info registers" }));
    assert!(regs.as_str().is_some_and(|t| t.contains("NIP ") && t.contains("GPR00")), "{regs}");
    let status = q.ok("human-monitor-command", json!({ "command-line": "info status" }));
    assert_eq!(status, "VM status: paused\n");

    // The kernel's first page: physically at 0, virtually at 0xc0000000.
    let (phys, virt) = (path.with_extension("phys"), path.with_extension("virt"));
    q.ok("pmemsave", json!({ "val": 0, "size": 4096, "filename": phys.to_str().unwrap() }));
    q.ok("memsave", json!({ "val": 0xc000_0000u32, "size": 4096, "filename": virt.to_str().unwrap() }));
    let (p, v) = (std::fs::read(&phys).unwrap(), std::fs::read(&virt).unwrap());
    let _ = (std::fs::remove_file(&phys), std::fs::remove_file(&virt));
    assert_eq!(p.len(), 4096);
    assert!(p == v && p.iter().any(|&b| b != 0), "the same bytes through both views");
    // Several chunks' worth.
    q.ok("pmemsave", json!({ "val": 0, "size": 3 << 20, "filename": phys.to_str().unwrap() }));
    assert_eq!(std::fs::metadata(&phys).unwrap().len(), 3 << 20);
    let _ = std::fs::remove_file(&phys);
    // Beyond RAM (the empty platform bus) nothing is read, and no file is written; a dump that
    // runs off the end of RAM (256 MiB) fails and leaves an existing file as it was.
    let hole_file = path.with_extension("hole");
    let hole = q.execute("pmemsave", json!({ "val": 0xf_0000_0000u64, "size": 16, "filename": hole_file.to_str().unwrap() }));
    assert!(hole["error"]["desc"].as_str().is_some_and(|d| d.contains("nothing at physical address")), "{hole}");
    assert!(!hole_file.exists());
    std::fs::write(&hole_file, "keep").unwrap();
    let off_end = q.execute("pmemsave", json!({ "val": (256u64 << 20) - (2 << 20), "size": 3 << 20, "filename": hole_file.to_str().unwrap() }));
    assert!(off_end["error"]["desc"].as_str().is_some_and(|d| d.contains("nothing at physical address 0x10000000")), "{off_end}");
    assert_eq!(std::fs::read_to_string(&hole_file).unwrap(), "keep");
    let _ = std::fs::remove_file(&hole_file);

    q.ok("cont", Value::Null);
    q.event("RESUME");
    g.wait_for("stopped-42", BOOT);

    q.ok("system_reset", Value::Null);
    let reset = q.event("RESET");
    assert_eq!(reset["data"], json!({ "guest": false, "reason": "host-qmp-system-reset" }));
    let t0 = Instant::now();
    while g.output().matches("Welcome to ferrite's guest").count() < 2 {
        assert!(t0.elapsed() < BOOT, "no second boot after system_reset:\n{}", g.output());
        std::thread::sleep(Duration::from_millis(100));
    }
    g.wait_for(prompt, BOOT);
    g.send(b"poweroff -f\r");
    let down = q.event("SHUTDOWN");
    assert_eq!(down["data"], json!({ "guest": true, "reason": "guest-shutdown" }));
    assert!(g.wait_exit(BOOT).success());
    assert!(!path.exists(), "the socket file goes with the machine");
}

/// Bad input gets QEMU's errors and the session goes on; `quit` answers, then ends the run.
/// Without `wait=off` the machine waits for the first client before it starts.
#[test]
fn qmp_bad_input_errors_and_quit() {
    let path = socket_path("bad");
    let spec = format!("unix:{},server", path.display());
    let kernel = support::repo().join("images/ppc-e500mc/uImage");
    let pid_path = path.with_extension("pid");
    let pid_arg = pid_path.to_str().unwrap();
    let mut g = Guest::start(&["-nographic", "-kernel", kernel.to_str().unwrap(), "-append", "console=ttyS0", "-qmp", &spec, "-name", "guest=testvm,process=x", "-pidfile", pid_arg]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!g.output().contains("Linux version"), "the machine started before a QMP client connected");
    let (mut q, _) = Qmp::connect(&path);
    q.ok("qmp_capabilities", Value::Null);
    g.wait_for("Linux version", BOOT);
    // -pidfile: this process's id, locked against a second user; -name: QMP's query-name.
    assert_eq!(std::fs::read_to_string(&pid_path).unwrap(), format!("{}\n", g.pid()));
    support::refused(&["-nographic", "-pidfile", pid_arg], &[pid_arg, "locked by another process"]);
    assert_eq!(std::fs::read_to_string(&pid_path).unwrap(), format!("{}\n", g.pid()), "the refused one left the file alone");
    assert_eq!(q.ok("query-name", Value::Null), json!({ "name": "testvm" }));
    let cases: &[(&[u8], &str)] = &[
        (b"nonsense\n", "GenericError"),
        (b"{\"execute\": }\n", "GenericError"),
        (b"{\"execute\": \"query-status\", \"frob\": 1}", "GenericError"),
        (b"{\"arguments\": {}}", "GenericError"),
        (b"{\"execute\": 42}", "GenericError"),
        (b"{\"execute\": \"no-such-command\"}", "CommandNotFound"),
        (b"{\"execute\": \"qmp_capabilities\"}", "CommandNotFound"),
        (b"{\"execute\": \"stop\", \"arguments\": {\"x\": 1}}", "GenericError"),
        (b"{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0}}", "GenericError"),
        (b"{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0, \"size\": \"big\", \"filename\": \"/tmp/x\"}}", "GenericError"),
        (b"{\"execute\": \"memsave\", \"arguments\": {\"val\": 0, \"size\": 4, \"filename\": \"/tmp/x\", \"cpu-index\": 9}}", "GenericError"),
        (b"{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info registers\", \"cpu-index\": 1}}", "GenericError"),
    ];
    for (input, class) in cases {
        let r = q.send_raw(input);
        assert_eq!(r["error"]["class"], *class, "{} -> {r}", String::from_utf8_lossy(input));
    }
    // Two requests in one write, no newline between them: two responses, in order.
    q.writer.write_all(b"{\"execute\":\"query-target\",\"id\":1}{\"execute\":\"query-kvm\",\"id\":2}").unwrap();
    let (a, b) = (q.read(), q.read());
    assert_eq!((a["id"].clone(), a["return"]["arch"].clone()), (json!(1), json!("ppc")));
    assert_eq!((b["id"].clone(), b["return"]["enabled"].clone()), (json!(2), json!(false)));
    let bad_cpu = q.ok("human-monitor-command", json!({ "command-line": "cpu 1" }));
    assert_eq!(bad_cpu, "invalid CPU index '1' (0 to 0)\n");
    let names = q.ok("query-commands", Value::Null);
    assert!(names.as_array().unwrap().iter().any(|c| c["name"] == "human-monitor-command"), "{names}");
    assert_eq!(q.ok("query-status", Value::Null)["status"], "running", "nothing above stopped the machine");
    q.ok("quit", Value::Null);
    let down = q.event("SHUTDOWN");
    assert_eq!(down["data"], json!({ "guest": false, "reason": "host-qmp-quit" }));
    let st = g.wait_exit(BOOT);
    assert!(st.success(), "quit exits 0, got {st}");
    assert!(!pid_path.exists(), "the pid file goes at exit");
}

/// `-monitor unix:PATH,server`: QEMU's banner and prompt, `-S` held until `cont`, commands
/// answered in order with CR LF line ends, `quit` ends the run.
#[test]
fn monitor_socket_answers_line_by_line() {
    use std::io::Read;
    let path = socket_path("monitor");
    let spec = format!("unix:{},server", path.display());
    let mut g = Guest::start(&["-nographic", "-S", "-monitor", &spec]);
    let t0 = Instant::now();
    let mut s = loop {
        match UnixStream::connect(&path) {
            Ok(s) => break s,
            Err(_) if t0.elapsed() < Duration::from_secs(30) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("cannot connect: {e}"),
        }
    };
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    // Reads up to and including the next prompt.
    let until_prompt = |s: &mut UnixStream| {
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        while !out.ends_with(b"(qemu) ") {
            assert_eq!(s.read(&mut b).unwrap(), 1, "the monitor hung up: {}", String::from_utf8_lossy(&out));
            out.push(b[0]);
        }
        String::from_utf8(out).unwrap()
    };
    assert!(until_prompt(&mut s).starts_with("QEMU 7.2.0 monitor"));
    s.write_all(b"info status\n").unwrap();
    assert_eq!(until_prompt(&mut s), "VM status: paused (prelaunch)\r\n(qemu) ");
    // Two lines in one write, answered in order.
    s.write_all(b"cont\ninfo status\r\n").unwrap();
    assert_eq!(until_prompt(&mut s), "(qemu) ");
    assert_eq!(until_prompt(&mut s), "VM status: running\r\n(qemu) ");
    g.wait_for("Welcome to ferrite's guest", BOOT);
    s.write_all(b"info registers\n").unwrap();
    let regs = until_prompt(&mut s);
    assert!(regs.contains("NIP ") && regs.contains("\r\nGPR00"), "{regs}");
    s.write_all(b"frobnicate\n").unwrap();
    assert!(until_prompt(&mut s).contains("unknown command 'frobnicate'"));
    s.write_all(b"quit\n").unwrap();
    assert!(g.wait_exit(BOOT).success());
    assert!(!path.exists(), "the socket file goes with the machine");
}
