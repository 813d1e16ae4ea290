//! The calls the sentry answers: those the gofer forwards (the policy's
//! sentry modules, [`moat_policy::server`]), on the sentry's own copy of
//! the listener they came on ([`crate::gofer`]); and, once a container's
//! gofer is gone, every call of its listeners, received here again
//! (`gofer::Link`: file calls then fail with `EIO`, never run natively).

pub mod mem;

use anyhow::{anyhow, Result};
use moat_notify::ioctl;
use nix::errno::Errno;
use std::os::fd::RawFd;

use crate::kernel::Kernel;
use crate::syscalls::{self, Call, Handler};

/// The sentry's handlers by syscall number, built from the policy table.
pub struct Dispatch {
    handlers: Vec<Option<(&'static str, Handler)>>,
    /// Numbers the gofer continues to the kernel.
    continued: Vec<u32>,
    /// The threads that read the workload's memory run under this
    /// allowlist of their own.
    pub confinement: Vec<libc::sock_filter>,
}

impl Dispatch {
    /// Every entry the policy routes to the sentry must have a handler.
    pub fn from_policy() -> Result<Dispatch> {
        let mut handlers = Vec::new();
        let mut continued = Vec::new();
        for e in moat_policy::table() {
            let Some(module) = e.handler() else { continue };
            if moat_policy::server::continued(module) {
                continued.push(e.nr);
            }
            if !moat_policy::server::served_by_sentry(module) {
                continue;
            }
            let h = syscalls::handler(module, e.name).ok_or_else(|| {
                anyhow!(
                    "policy routes {} to handler {module:?}, which the sentry lacks",
                    e.name
                )
            })?;
            let nr = e.nr as usize;
            if handlers.len() <= nr {
                handlers.resize(nr + 1, None);
            }
            handlers[nr] = Some((e.name, h));
        }
        let confinement =
            moat_policy::confine::allowlist_filter(moat_policy::confine::NOTIFY_THREAD)?;
        Ok(Dispatch {
            handlers,
            continued,
            confinement,
        })
    }

    fn continues(&self, nr: i32) -> bool {
        u32::try_from(nr).is_ok_and(|n| self.continued.contains(&n))
    }

    fn get(&self, nr: i32) -> Option<(&'static str, Handler)> {
        usize::try_from(nr)
            .ok()
            .and_then(|n| self.handlers.get(n).copied().flatten())
    }
}

/// Answer notification `n` received on `listener` (by the gofer, or by
/// the sentry itself once the gofer is gone). A call the sentry has no
/// handler for is a file call whose gofer is gone: `EIO`, but for those
/// the gofer would continue to the kernel ([`moat_policy::server::continued`]).
pub fn answer(kernel: &Kernel, dispatch: &Dispatch, listener: RawFd, n: &ioctl::Notif) {
    let entry = dispatch.get(n.data.nr);
    if entry.is_none() && dispatch.continues(n.data.nr) {
        let resp = ioctl::NotifResp {
            id: n.id,
            val: 0,
            error: 0,
            flags: ioctl::FLAG_CONTINUE,
        };
        if let Err(e) = ioctl::send(listener, &resp) {
            tracing::debug!("continuing a call: {e}");
        }
        return;
    }
    let mut call = Call::new(kernel, listener, n);
    let result = match entry {
        Some((_, h)) => h(&mut call),
        None => Err(Errno::EIO),
    };
    if kernel.strace {
        let name = entry.map_or("?", |(name, _)| name);
        let a = n.data.args;
        let shown = match result {
            Ok(v) => v.to_string(),
            Err(e) => format!("-1 {e}"),
        };
        tracing::info!(target: "strace", "[{}] {name}({:#x}, {:#x}, {:#x}) = {shown}", n.pid, a[0], a[1], a[2]);
    }
    let (val, error) = match result {
        Ok(v) => (v, 0),
        Err(e) => (0, -(e as i32)),
    };
    let resp = ioctl::NotifResp {
        id: n.id,
        val,
        error,
        flags: 0,
    };
    match ioctl::send(listener, &resp) {
        // The caller was interrupted or died: nobody waits for the answer.
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => tracing::warn!("answering a seccomp notification: {e}"),
    }
}
