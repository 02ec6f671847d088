//! The console in a real terminal (tmux): line editing, Ctrl-C to the guest, Ctrl-A X, and the
//! terminal settings restored afterwards. Needs tmux (`.ci/run` installs it).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(cmd: &str) -> Tmux {
        let session = format!("ferrite-test-{}", std::process::id());
        let st = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "132", "-y", "50", "bash", "--norc", "--noprofile"])
            .status()
            .expect("tmux is needed for this test (apt-get install tmux)");
        assert!(st.success(), "tmux new-session failed");
        let t = Tmux { session };
        t.keys(&[cmd, "Enter"]);
        t
    }

    fn keys(&self, keys: &[&str]) {
        let st = Command::new("tmux").args(["send-keys", "-t", &self.session]).args(keys).status().unwrap();
        assert!(st.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-S", "-200", "-t", &self.session]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until `pred` holds for the screen's text.
    fn wait(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if t0.elapsed() > timeout {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.session]).status();
    }
}

#[test]
fn console_in_a_terminal() {
    let ferrite = env!("CARGO_BIN_EXE_ferrite");
    let repo = support::repo();
    let t = Tmux::start(&format!("cd {} && stty -a > /tmp/ferrite-stty-before-$$ && {ferrite}; echo ferrite-exit=$?", repo.display()));
    let boot = Duration::from_secs(120);
    t.wait("the shell prompt", boot, |s| s.contains("Welcome to ferrite's guest") && s.trim_end().ends_with('#'));
    // Line editing: type "echo hello wrld", go back three characters, insert the missing "o".
    t.keys(&["echo hello wrld", "Left", "Left", "Left", "o", "Enter"]);
    t.wait("the edited line's output", boot, |s| s.lines().any(|l| l.trim() == "hello world"));
    // Ctrl-C reaches the guest's foreground job, not ferrite.
    t.keys(&["sleep 60", "Enter"]);
    std::thread::sleep(Duration::from_millis(700));
    t.keys(&["C-c"]);
    t.keys(&["echo status=$?", "Enter"]);
    t.wait("sleep interrupted by Ctrl-C", boot, |s| s.contains("status=130"));
    // Ctrl-A X quits; the terminal settings are as before.
    t.keys(&["C-a", "x"]);
    t.wait("ferrite to quit with status 0", Duration::from_secs(30), |s| s.contains("ferrite: terminated") && s.contains("ferrite-exit=0"));
    t.keys(&["stty -a | diff /tmp/ferrite-stty-before-$$ - && echo TERMINAL-RESTORED; rm -f /tmp/ferrite-stty-before-$$", "Enter"]);
    t.wait("the terminal settings restored", Duration::from_secs(10), |s| s.contains("TERMINAL-RESTORED\n"));
}
