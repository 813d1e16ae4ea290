//! The notify loop: receive each intercepted call from a seccomp listener,
//! run the handler the policy table names, answer.

pub mod ioctl;
pub mod mem;

use anyhow::{anyhow, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;

use crate::kernel::Kernel;
use crate::syscalls::{self, Call, Handler};
use mem::MemCache;

/// Emulated syscall numbers → (name, handler), built from the policy table.
pub struct Dispatch {
    handlers: Vec<Option<(&'static str, Handler)>>,
    /// The notify threads' own seccomp allowlist.
    confinement: Vec<libc::sock_filter>,
}

impl Dispatch {
    /// Every emulated entry of the policy must have a handler here.
    pub fn from_policy() -> Result<Dispatch> {
        let mut handlers = Vec::new();
        for e in moat_policy::table() {
            let Some(handler) = e.handler() else {
                continue;
            };
            let h = syscalls::handler(handler, e.name).ok_or_else(|| {
                anyhow!(
                    "policy routes {} to handler {handler:?}, which the sentry lacks",
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
            confinement,
        })
    }

    fn get(&self, nr: i32) -> Option<(&'static str, Handler)> {
        usize::try_from(nr)
            .ok()
            .and_then(|n| self.handlers.get(n).copied().flatten())
    }
}

/// Serve `listener` on a thread of its own until every process using the
/// filter is gone.
pub fn spawn(listener: OwnedFd, kernel: Arc<Kernel>, dispatch: Arc<Dispatch>) -> Result<()> {
    std::thread::Builder::new()
        .name("notify".into())
        .spawn(move || {
            // This thread handles the workload's pointers: confine it first,
            // and serve nothing if that fails.
            match moat_policy::install(&dispatch.confinement, 0) {
                Ok(_) => serve(listener, &kernel, &dispatch),
                Err(e) => tracing::error!("confining the notify thread: {e}"),
            }
        })?;
    Ok(())
}

fn serve(listener: OwnedFd, kernel: &Kernel, dispatch: &Dispatch) {
    let fd = listener.as_raw_fd();
    let mut mem = MemCache::default();
    if let Err(e) = ioctl::set_sync_wakeup(fd) {
        tracing::debug!("synchronous wake-up unavailable: {e}");
    }
    loop {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!("polling the seccomp listener: {e}");
                return;
            }
        }
        let ready = fds[0].revents().unwrap_or(PollFlags::empty());
        if !ready.contains(PollFlags::POLLIN) {
            // POLLHUP: no process uses the filter any more.
            return;
        }
        let notif = match ioctl::recv(fd) {
            Ok(n) => n,
            // The caller vanished between poll and recv, or a signal: retry.
            Err(Errno::ENOENT | Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!("receiving a seccomp notification: {e}");
                return;
            }
        };
        let Some(resp) = handle(kernel, dispatch, fd, &notif, &mut mem) else {
            continue;
        };
        match ioctl::send(fd, &resp) {
            // The caller was interrupted or died: nobody waits for the answer.
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => tracing::warn!("answering a seccomp notification: {e}"),
        }
    }
}

fn handle(
    kernel: &Kernel,
    dispatch: &Dispatch,
    fd: i32,
    n: &ioctl::Notif,
    mem: &mut MemCache,
) -> Option<ioctl::NotifResp> {
    let entry = dispatch.get(n.data.nr);
    let mut call = Call::new(kernel, fd, n, mem);
    let result = match entry {
        Some((_, h)) => h(&mut call),
        None => Err(Errno::ENOSYS),
    };
    let flags = if call.continues() && result.is_ok() {
        ioctl::FLAG_CONTINUE
    } else {
        0
    };
    if kernel.strace {
        let name = entry.map_or("?", |(name, _)| name);
        let a = n.data.args;
        match result {
            Ok(_) if flags != 0 => {
                tracing::info!(target: "strace", "[{}] {name}({:#x}, {:#x}, {:#x}) = (native)", n.pid, a[0], a[1], a[2])
            }
            Ok(v) => {
                tracing::info!(target: "strace", "[{}] {name}({:#x}, {:#x}, {:#x}) = {v}", n.pid, a[0], a[1], a[2])
            }
            Err(e) => {
                tracing::info!(target: "strace", "[{}] {name}({:#x}, {:#x}, {:#x}) = -1 {e}", n.pid, a[0], a[1], a[2])
            }
        }
    }
    if call.answered() {
        return None;
    }
    let (val, error) = match result {
        Ok(v) => (v, 0),
        Err(e) => (0, -(e as i32)),
    };
    Some(ioctl::NotifResp {
        id: n.id,
        val,
        error,
        flags,
    })
}
