//! Handlers of the calls the sentry answers from the sandbox's own state
//! (its identity, kernel log, memory), one module per syscall family, as
//! in the policy table's handler column (`moat policy`). The container's
//! gofer receives every notification and forwards these
//! ([`moat_policy::server`]); file calls are the gofer's (`gofer/src/calls`).
//! A handler gets the notified call and returns the syscall's value or an
//! errno; it never trusts a pointer argument twice.

mod hostname;
mod sysinfo;
mod syslog;
mod uname;

use nix::errno::Errno;
use std::os::fd::RawFd;

use crate::kernel::Kernel;
use crate::notify::mem::ProcMem;
use moat_notify::ioctl;

/// One intercepted call.
pub struct Call<'a> {
    pub pid: u32,
    pub args: [u64; 6],
    pub kernel: &'a Kernel,
    listener: RawFd,
    id: u64,
    mem: Option<ProcMem>,
}

pub type Handler = fn(&mut Call) -> Result<i64, Errno>;

impl<'a> Call<'a> {
    pub fn new(kernel: &'a Kernel, listener: RawFd, n: &ioctl::Notif) -> Call<'a> {
        Call {
            pid: n.pid,
            args: n.data.args,
            kernel,
            listener,
            id: n.id,
            mem: None,
        }
    }

    /// The caller's memory, checked to belong to the caller: opened for
    /// this call (the gofer, not the sentry, sees `execve`, so nothing is
    /// kept between calls).
    pub fn mem(&mut self) -> Result<&ProcMem, Errno> {
        if self.mem.is_none() {
            let m = ProcMem::open(self.pid)?;
            self.still_pending()?;
            self.mem = Some(m);
        }
        self.mem.as_ref().ok_or(Errno::EIO)
    }

    /// Fails once the caller died or gave up: act only on pending calls.
    pub fn still_pending(&self) -> Result<(), Errno> {
        if ioctl::id_valid(self.listener, self.id) {
            Ok(())
        } else {
            Err(Errno::ESRCH)
        }
    }

    /// Does the caller hold `cap` in its effective set?
    pub fn has_cap(&self, cap: u32) -> bool {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{}/status", self.pid)) else {
            return false;
        };
        text.lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|eff| cap < 64 && eff & (1u64 << cap) != 0)
    }
}

/// The handler the policy table names for `syscall` in `module`.
pub fn handler(module: &str, syscall: &str) -> Option<Handler> {
    Some(match (module, syscall) {
        ("uname", "uname") => uname::uname,
        ("syslog", "syslog") => syslog::syslog,
        ("sysinfo", "sysinfo") => sysinfo::sysinfo,
        ("hostname", "sethostname") => hostname::sethostname,
        ("hostname", "setdomainname") => hostname::setdomainname,
        _ => return None,
    })
}
