//! Workers whose caller no longer waits for them, or has a signal to take.
//!
//! A worker performing a call that blocks (a FIFO's open, a lease break,
//! a slow volume) waits as long as the kernel makes it, and its caller,
//! received, waits only killably (`WAIT_KILLABLE_RECV`): natively a
//! caught signal would interrupt the call, and a killed caller would end
//! it. Every [`TICK`] this module's thread looks at the calls in progress
//! for longer than that. Where the caller is gone (its notification is no
//! longer valid) or has a signal pending that it catches or that stops
//! it, and does not block, the worker is interrupted: [`SIGNAL`], whose handler does
//! nothing and lacks `SA_RESTART`, makes its blocked call fail with
//! `EINTR`. For a live caller the worker then answers `ERESTARTSYS`
//! ([`Serving::for_a_signal`]), which the kernel turns into what the
//! call would natively do: the caller's handler runs, then the call is
//! restarted (`SA_RESTART`) or fails with `EINTR`; a stopped caller
//! restarts it when continued; with no signal left to take, it is
//! restarted unseen.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::pthread::{pthread_kill, pthread_self, Pthread};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The signal that interrupts a worker.
const SIGNAL: Signal = Signal::SIGUSR2;
/// How long a call runs before its caller is looked at, and how often.
const TICK: Duration = Duration::from_millis(100);

struct InFlight {
    listener: RawFd,
    id: u64,
    /// The caller's thread id (in the gofer's procfs).
    caller: u32,
    worker: Pthread,
    since: Instant,
    for_a_signal: bool,
}

static IN_FLIGHT: Mutex<Vec<InFlight>> = Mutex::new(Vec::new());

fn in_flight() -> MutexGuard<'static, Vec<InFlight>> {
    // The list holds no invariant a panic could break half-way.
    IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner())
}

extern "C" fn nothing(_: libc::c_int) {}

/// Install [`SIGNAL`]'s handler: before the allowlist, which lacks
/// `rt_sigaction`.
pub fn prepare() -> nix::Result<()> {
    let act = SigAction::new(
        SigHandler::Handler(nothing),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing at all, so it is async-signal-safe
    // and touches no state the interrupted code holds.
    unsafe { sigaction(SIGNAL, &act) }.map(drop)
}

/// Start the thread that looks, on `proc` (the gofer's procfs): after the
/// allowlist, which a thread started before it would not be under.
pub fn start(proc: OwnedFd) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("interrupter".into())
        .spawn(move || loop {
            std::thread::sleep(TICK);
            look(proc.as_fd());
        })
        .map(drop)
}

fn look(proc: BorrowedFd) {
    let now = Instant::now();
    // The entries' listeners are open: a worker removes its entry before
    // it leaves the call, and its pool (which owns the listener) outlives it.
    for c in in_flight().iter_mut() {
        if now.duration_since(c.since) < TICK {
            continue;
        }
        let gone = !moat_notify::ioctl::id_valid(c.listener, c.id);
        if gone || takes_a_signal(proc, c.caller) {
            c.for_a_signal |= !gone;
            // The worker is alive: its entry is removed before it ends.
            if let Err(e) = pthread_kill(c.worker, SIGNAL) {
                tracing::warn!("interrupting a worker: {e}");
            }
        }
    }
}

/// Whether thread `tid` has a signal pending (its own or its process's)
/// that it does not block and that it catches or that stops it
/// (`SIGSTOP`; `SIGTSTP`, `SIGTTIN`, `SIGTTOU` left to their default).
fn takes_a_signal(proc: BorrowedFd, tid: u32) -> bool {
    let Ok(path) = CString::new(format!("{tid}/status")) else {
        return false;
    };
    let Ok(fd) = crate::sys::openat(proc.as_raw_fd(), &path, libc::O_RDONLY, 0) else {
        return false;
    };
    let Ok(text) = std::io::read_to_string(std::fs::File::from(fd)) else {
        return false;
    };
    let mask = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let pending = mask("SigPnd:") | mask("ShdPnd:");
    let caught = mask("SigCgt:");
    let bit = |s: Signal| 1u64 << (s as i32 - 1);
    let stopping = bit(Signal::SIGTSTP) | bit(Signal::SIGTTIN) | bit(Signal::SIGTTOU);
    let stops = bit(Signal::SIGSTOP) | (stopping & !caught & !mask("SigIgn:"));
    pending & !mask("SigBlk:") & (caught | stops) != 0
}

/// A call in progress on this worker thread, looked at while it lasts.
pub struct Serving {
    listener: RawFd,
    id: u64,
}

impl Serving {
    pub fn begin(listener: RawFd, id: u64, caller: u32) -> Serving {
        in_flight().push(InFlight {
            listener,
            id,
            caller,
            worker: pthread_self(),
            since: Instant::now(),
            for_a_signal: false,
        });
        Serving { listener, id }
    }

    /// Whether the worker was interrupted for a signal its (live) caller
    /// has to take.
    pub fn for_a_signal(&self) -> bool {
        in_flight()
            .iter()
            .any(|c| c.listener == self.listener && c.id == self.id && c.for_a_signal)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        in_flight().retain(|c| !(c.listener == self.listener && c.id == self.id));
    }
}
