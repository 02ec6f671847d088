//! Running the `ferrite` binary as a user does: a child process with its console on pipes.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The repository root (the default image lives under it).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running ferrite with its serial console on pipes.
pub struct Guest {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
    seen: usize,
}

impl Guest {
    /// Starts `ferrite ARGS` in the repository root.
    pub fn start(args: &[&str]) -> Guest {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrite"))
            .args(args)
            .current_dir(repo())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start ferrite");
        let mut stdout = child.stdout.take().expect("piped");
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let stdin = child.stdin.take();
        Guest { child, stdin, out, seen: 0 }
    }

    /// Everything the console printed so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Waits until `text` appears after what earlier waits consumed; returns the output up to
    /// and including it. Panics with the whole console log after `timeout`.
    pub fn wait_for(&mut self, text: &str, timeout: Duration) -> String {
        let t0 = Instant::now();
        loop {
            {
                let out = self.out.lock().unwrap();
                let hay = String::from_utf8_lossy(&out[self.seen..]).into_owned();
                if let Some(i) = hay.find(text) {
                    let upto = hay[..i + text.len()].to_string();
                    self.seen += upto.len();
                    return upto;
                }
            }
            if t0.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {text:?}; console so far:\n{}", self.output());
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                // Let the reader drain the pipe once more before giving up.
                std::thread::sleep(Duration::from_millis(100));
                let out = self.output();
                if out[self.seen.min(out.len())..].contains(text) {
                    continue;
                }
                panic!("ferrite exited ({st}) before printing {text:?}; console:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `bytes` on the console.
    pub fn send(&mut self, bytes: &[u8]) {
        let s = self.stdin.as_mut().expect("stdin open");
        s.write_all(bytes).expect("console write");
        s.flush().expect("console flush");
    }

    /// Types a command line and waits for the shell's next prompt; returns what it printed.
    pub fn run(&mut self, cmd: &str, prompt: &str) -> String {
        self.send(format!("{cmd}\r").as_bytes());
        self.wait_for(prompt, Duration::from_secs(60))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        match wait_timeout(&mut self.child, timeout) {
            Some(st) => st,
            None => panic!("ferrite did not exit within {timeout:?}; console:\n{}", self.output()),
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs ferrite to completion with `args`, returning its exit status and stdout.
pub fn run_to_end(args: &[&str], timeout: Duration) -> (ExitStatus, String) {
    let mut g = Guest::start(args);
    drop(g.stdin.take());
    let st = g.wait_exit(timeout);
    std::thread::sleep(Duration::from_millis(100));
    (st, g.output())
}

/// Runs a ferrite that must be refused before it boots: exit status 1, a message with
/// every one of `expect` and no panic. One that is not refused is killed after a while.
pub fn refused(args: &[&str], expect: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let Some(status) = wait_timeout(&mut child, Duration::from_secs(30)) else {
        panic!("{args:?} was not refused: it ran for 30 s");
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{args:?} must be refused: {err}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: stderr should say {e:?}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

/// Waits up to `timeout` for `child` to end; kills it if it does not.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return Some(st);
        }
        if t0.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
