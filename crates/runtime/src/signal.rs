//! Signal names and numbers as `runc kill` accepts them: `TERM`, `SIGTERM`, `15`.

use nix::sys::signal::Signal;
use std::str::FromStr;

use crate::{Error, Result};

/// Parse a signal given by name (with or without `SIG`, any case) or number.
pub fn parse(s: &str) -> Result<Signal> {
    let bad = || Error::Other(format!("invalid signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| bad())
}

/// Shell-style exit code of a wait status: the code, or 128+signal.
pub fn exit_code(status: nix::sys::wait::WaitStatus) -> Option<i32> {
    use nix::sys::wait::WaitStatus::*;
    match status {
        Exited(_, code) => Some(code),
        Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Signals a waiting front end passes on to the process it waits for.
const FORWARDED: [Signal; 9] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGCONT,
    Signal::SIGWINCH,
];

/// Forward the usual termination and job-control signals this process
/// receives to `target`, from a background thread, for as long as the
/// process lives. Call before spawning other threads: it blocks the signals
/// in the calling thread, and threads inherit that mask.
pub fn forward_to(target: crate::proc::ProcId) -> Result<()> {
    let mut set = nix::sys::signal::SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| Error::errno("blocking signals", e))?;
    std::thread::Builder::new()
        .name("signal-forward".into())
        .spawn(move || loop {
            match set.wait() {
                Ok(sig) => {
                    let _ = target.signal(sig);
                }
                Err(_) => return,
            }
        })
        .map_err(|e| Error::io("starting the signal thread", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse("sigkill").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("9").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("SIGUSR1").unwrap(), Signal::SIGUSR1);
        assert!(parse("NOPE").is_err());
        assert!(parse("0").is_err());
        assert!(parse("99").is_err());
    }
}
