//! A gdb session on the board: gdbstub drives the protocol, this file answers it with the
//! board's CPUs (one gdb thread per vCPU), memory, breakpoints and watchpoints, and runs the
//! machine between stops. The virtual clock stands still while the debugger holds the machine.

use super::{Event, Exec, Ppce500, RunEnd};
use crate::gdb::e500mc::{self, E500mc, E500mcRegId, E500mcRegs};
use super::monitor::{self, Origin, Reply};
use crate::gdb::InputWatch;
use ferrite_exec::{DebugStop, Resume};
use ferrite_softmmu::{WatchKind as SoftWatchKind, Watchpoint};
use gdbstub::common::{Signal, Tid};
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::{run_blocking, DisconnectReason, GdbStub, MultiThreadStopReason};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking, MultiThreadSchedulerLockingOps, MultiThreadSingleStep,
    MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::single_register_access::{SingleRegisterAccess, SingleRegisterAccessOps};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint, SwBreakpointOps, WatchKind};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use std::marker::PhantomData;

/// How the session ended, for the machine loop.
enum Outcome {
    /// The debugger detached or went away: keep running.
    Detached,
    /// The run is over.
    End(RunEnd),
}

/// Errors that end a session (gdbstub's "fatal target error").
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The board failed (a reset could not reload the images).
    #[error(transparent)]
    Board(#[from] super::BoardError),
    /// The monitor's `quit`.
    #[error("quit requested by the debugger")]
    Quit,
}

/// The board as gdb's target, for the length of one session.
pub struct Session<'a> {
    board: &'a mut Ppce500,
    watch: InputWatch,
    /// Memory accesses use physical addresses (monitor `physical on`).
    physical: bool,
    /// The CPU gdb asked to single-step at the next resume (None: continue).
    step: Option<usize>,
    /// The last stop was a watchpoint hit at this PC.
    watch_hit_pc: Option<u64>,
    /// How the run ended while the debugger held it (power-off, quit).
    end: Option<RunEnd>,
}

fn tid(cpu: usize) -> Tid {
    Tid::new(cpu + 1).expect("non-zero")
}

impl Session<'_> {
    fn cpu_index(&self, t: Tid) -> TargetResult<usize, Self> {
        let i = t.get() - 1;
        if i < self.board.cpu_count() {
            Ok(i)
        } else {
            Err(TargetError::NonFatal)
        }
    }

    /// Runs the machine from the debugger's resume until something stops it.
    fn run_until_stop(&mut self) -> Result<Option<MultiThreadStopReason<u32>>, SessionError> {
        let b = &mut *self.board;
        if let Some(cpu) = self.step {
            // The step belongs to the thread gdb named: that CPU takes the turn.
            b.current = cpu;
        }
        // The resume (skip a breakpoint at the PC, replay a watchpoint hit) is the stopped
        // CPU's: the one whose turn it still is.
        let cpu = b.current;
        let pc = b.cpus[cpu].hdr.pc;
        let resume = Resume { pc, after_watch_hit: self.watch_hit_pc == Some(pc) };
        self.watch_hit_pc = None;
        let debug = self.step.is_some() || b.engine.has_breakpoints() || b.has_watchpoints();
        let mut exec = if debug { Exec::Debug { step: self.step.is_some(), resume, cpu } } else { Exec::Normal };
        b.clock.resume();
        let result = loop {
            match b.turn(&mut exec) {
                Err(e) => break Err(e.into()),
                Ok(None) | Ok(Some(Event::Debugger)) => {}
                Ok(Some(Event::DebugInput)) => break Ok(None),
                Ok(Some(Event::End(end))) => {
                    self.end = Some(end);
                    break Ok(Some(match end {
                        RunEnd::PowerOff | RunEnd::Reset | RunEnd::DumpedDtb => MultiThreadStopReason::Exited(0),
                        RunEnd::Quit => MultiThreadStopReason::Terminated(Signal::SIGKILL),
                    }));
                }
                Ok(Some(Event::Stopped(stop))) => {
                    // A stop keeps the turn: `current` is the CPU that stopped.
                    let at = tid(b.current);
                    break Ok(Some(match stop {
                        DebugStop::Breakpoint => MultiThreadStopReason::SwBreak(at),
                        DebugStop::Watchpoint(hit) => {
                            self.watch_hit_pc = Some(b.cpus[b.current].hdr.pc);
                            let kind = match hit.kind {
                                SoftWatchKind::Read => WatchKind::Read,
                                SoftWatchKind::Write => WatchKind::Write,
                                SoftWatchKind::Access => WatchKind::ReadWrite,
                            };
                            MultiThreadStopReason::Watch { tid: at, kind, addr: hit.addr as u32 }
                        }
                        _ => MultiThreadStopReason::SignalWithThread { tid: at, signal: Signal::SIGTRAP },
                    }));
                }
            }
        };
        b.clock.pause();
        if let Some(alarm) = &b.alarm {
            alarm.set(None);
        }
        result
    }
}

impl Ppce500 {
    /// Serves the debugger that just connected until it detaches (then the machine runs on,
    /// `Ok(None)`) or the run ends.
    pub(crate) fn debug_session(&mut self) -> Result<Option<RunEnd>, super::BoardError> {
        let Some(server) = self.gdb.clone() else { return Ok(None) };
        let Some(client) = server.take_client() else { return Ok(None) };
        let watch = InputWatch::start(&client, self.events.clone());
        self.clock.pause();
        let outcome = {
            let mut session = Session { board: self, watch, physical: false, step: None, watch_hit_pc: None, end: None };
            let stub = GdbStub::new(client.into_connection());
            let result = stub.run_blocking::<EventLoop<'_>>(&mut session);
            let end = session.end;
            match result {
                Ok(DisconnectReason::Disconnect) => end.map_or(Outcome::Detached, Outcome::End),
                Ok(DisconnectReason::Kill) => Outcome::End(RunEnd::Quit),
                Ok(DisconnectReason::TargetExited(_)) | Ok(DisconnectReason::TargetTerminated(_)) => Outcome::End(end.unwrap_or(RunEnd::Quit)),
                Err(e) => {
                    if e.is_target_error() {
                        match e.into_target_error() {
                            Some(SessionError::Board(b)) => return Err(b),
                            _ => Outcome::End(RunEnd::Quit),
                        }
                    } else {
                        tracing::warn!(target: "gdb", "debugger connection ended: {e}");
                        end.map_or(Outcome::Detached, Outcome::End)
                    }
                }
            }
        };
        self.clear_debug_state();
        self.clock.resume();
        server.detached();
        tracing::info!(target: "gdb", "debugger detached");
        Ok(match outcome {
            Outcome::Detached if !self.events.quit_requested() => None,
            Outcome::Detached => Some(RunEnd::Quit),
            Outcome::End(end) => Some(end),
        })
    }
}

/// gdbstub's blocking loop: run the machine until a stop or until the client sends data.
struct EventLoop<'a>(PhantomData<&'a ()>);

impl<'a> run_blocking::BlockingEventLoop for EventLoop<'a> {
    type Target = Session<'a>;
    type Connection = Box<dyn ConnectionExt<Error = std::io::Error>>;
    type StopReason = MultiThreadStopReason<u32>;

    #[allow(clippy::type_complexity)]
    fn wait_for_stop_reason(
        target: &mut Session<'a>,
        conn: &mut Self::Connection,
    ) -> Result<run_blocking::Event<Self::StopReason>, run_blocking::WaitForStopReasonError<SessionError, std::io::Error>> {
        use run_blocking::{Event as E, WaitForStopReasonError as W};
        // The watcher's report of input may be stale: made just as the guest stopped at a
        // breakpoint and only seen on this resume, with nothing to read (gdb waits for the
        // stop reply, and blocking on the socket would hang both). One such report is
        // skipped; a second with nothing to peek is a hang-up, which reading reports.
        let mut empty_reports = 0;
        loop {
            if conn.peek().map_err(W::Connection)?.is_some() || empty_reports > 1 {
                return Ok(E::IncomingData(conn.read().map_err(W::Connection)?));
            }
            target.watch.arm();
            let stop = target.run_until_stop();
            target.watch.disarm();
            if let Some(reason) = stop.map_err(W::Target)? {
                return Ok(E::TargetStopped(reason));
            }
            if conn.peek().map_err(W::Connection)?.is_none() {
                empty_reports += 1;
            }
        }
    }

    fn on_interrupt(_target: &mut Session<'a>) -> Result<Option<MultiThreadStopReason<u32>>, SessionError> {
        Ok(Some(MultiThreadStopReason::Signal(Signal::SIGINT)))
    }
}

impl Target for Session<'_> {
    type Arch = E500mc;
    type Error = SessionError;

    fn base_ops(&mut self) -> BaseOps<'_, E500mc, SessionError> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadBase for Session<'_> {
    fn read_registers(&mut self, regs: &mut E500mcRegs, t: Tid) -> TargetResult<(), Self> {
        let i = self.cpu_index(t)?;
        *regs = E500mcRegs::read_from(&mut self.board.cpus[i]);
        Ok(())
    }

    fn write_registers(&mut self, regs: &E500mcRegs, t: Tid) -> TargetResult<(), Self> {
        let i = self.cpu_index(t)?;
        regs.write_to(&mut self.board.cpus[i]);
        Ok(())
    }

    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, Tid, Self>> {
        Some(self)
    }

    fn read_addrs(&mut self, start: u32, data: &mut [u8], t: Tid) -> TargetResult<usize, Self> {
        let i = self.cpu_index(t)?;
        match self.board.debug_read(i, start as u64, data, self.physical) {
            0 if !data.is_empty() => Err(TargetError::Errno(14)),
            n => Ok(n),
        }
    }

    fn write_addrs(&mut self, start: u32, data: &[u8], t: Tid) -> TargetResult<(), Self> {
        let i = self.cpu_index(t)?;
        if self.board.debug_write(i, start as u64, data, self.physical) {
            Ok(())
        } else {
            Err(TargetError::Errno(14))
        }
    }

    fn list_active_threads(&mut self, register_thread: &mut dyn FnMut(Tid)) -> Result<(), SessionError> {
        (0..self.board.cpu_count()).for_each(|i| register_thread(tid(i)));
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleRegisterAccess<Tid> for Session<'_> {
    fn read_register(&mut self, t: Tid, reg: E500mcRegId, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let i = self.cpu_index(t)?;
        let size = e500mc::register_size(reg.0).ok_or(TargetError::NonFatal)?;
        let v = e500mc::read(&mut self.board.cpus[i], reg.0).ok_or(TargetError::NonFatal)?;
        let out = buf.get_mut(..size).ok_or(TargetError::NonFatal)?;
        out.copy_from_slice(&v.to_be_bytes()[8 - size..]);
        Ok(size)
    }

    fn write_register(&mut self, t: Tid, reg: E500mcRegId, val: &[u8]) -> TargetResult<(), Self> {
        let i = self.cpu_index(t)?;
        if Some(val.len()) != e500mc::register_size(reg.0) {
            return Err(TargetError::NonFatal);
        }
        let v = val.iter().fold(0u64, |a, b| (a << 8) | *b as u64);
        if e500mc::write(&mut self.board.cpus[i], reg.0, v) {
            Ok(())
        } else {
            Err(TargetError::NonFatal)
        }
    }
}

impl MultiThreadResume for Session<'_> {
    fn resume(&mut self) -> Result<(), SessionError> {
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), SessionError> {
        self.step = None;
        Ok(())
    }

    fn set_resume_action_continue(&mut self, _t: Tid, _signal: Option<Signal>) -> Result<(), SessionError> {
        // Signals mean nothing to a bare machine: gdb passes back the SIGTRAP/SIGINT it got.
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadSchedulerLocking for Session<'_> {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), SessionError> {
        // A step runs only the stepped CPU; a continue runs them all, in turns.
        Ok(())
    }
}

impl MultiThreadSingleStep for Session<'_> {
    fn set_resume_action_step(&mut self, t: Tid, _signal: Option<Signal>) -> Result<(), SessionError> {
        // The other CPUs wait while one steps (they run one at a time anyway).
        if let Ok(cpu) = self.cpu_index(t) {
            self.step = Some(cpu);
        }
        Ok(())
    }
}

impl Breakpoints for Session<'_> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for Session<'_> {
    fn add_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.board.insert_breakpoint(addr as u64);
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.board.remove_breakpoint(addr as u64))
    }
}

impl HwBreakpoint for Session<'_> {
    fn add_hw_breakpoint(&mut self, addr: u32, kind: usize) -> TargetResult<bool, Self> {
        self.add_sw_breakpoint(addr, kind)
    }

    fn remove_hw_breakpoint(&mut self, addr: u32, kind: usize) -> TargetResult<bool, Self> {
        self.remove_sw_breakpoint(addr, kind)
    }
}

fn watchpoint(addr: u32, len: u32, kind: WatchKind) -> Watchpoint {
    let kind = match kind {
        WatchKind::Read => SoftWatchKind::Read,
        WatchKind::Write => SoftWatchKind::Write,
        WatchKind::ReadWrite => SoftWatchKind::Access,
    };
    Watchpoint { addr: addr as u64, len: len.max(1) as u64, kind }
}

impl HwWatchpoint for Session<'_> {
    fn add_hw_watchpoint(&mut self, addr: u32, len: u32, kind: WatchKind) -> TargetResult<bool, Self> {
        Ok(self.board.set_watchpoint(watchpoint(addr, len, kind), true))
    }

    fn remove_hw_watchpoint(&mut self, addr: u32, len: u32, kind: WatchKind) -> TargetResult<bool, Self> {
        Ok(self.board.set_watchpoint(watchpoint(addr, len, kind), false))
    }
}

impl MonitorCmd for Session<'_> {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), SessionError> {
        let text = String::from_utf8_lossy(cmd);
        match monitor::execute(self.board, Origin::Gdb { physical: &mut self.physical }, text.trim())? {
            Reply::Text(t) => out.write_raw(t.as_bytes()),
            Reply::Quit => return Err(SessionError::Quit),
        }
        Ok(())
    }
}
