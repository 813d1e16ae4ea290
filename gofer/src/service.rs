//! The gofer's state shared by its workers, and its main loop: receive
//! the listeners the sentry sends and start a pool of workers on each.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use moat_goferproto::{Forward, Message, MAX_MESSAGE};
use moat_notify::Notif;
use nix::errno::Errno;

use crate::calls::Route;
use crate::creds::Own;
use crate::procobj::ProcMounts;

pub struct Service {
    /// The socket to the sentry.
    sentry: OwnedFd,
    /// The host's procfs (opened before joining the container's mount
    /// namespace): callers' status, cwd, root and descriptors, by host id.
    proc: OwnedFd,
    /// The container's root (`O_PATH`): the workers' root and cwd between calls.
    root: OwnedFd,
    pub own: Own,
    /// Routes by syscall number; `None`: forwarded to the sentry.
    routes: Vec<Option<(&'static str, Route)>>,
    pub procs: ProcMounts,
    /// Log every call served, with its result (`--strace`).
    pub strace: bool,
    /// Callers' status files.
    pub status: crate::caller::StatusFiles,
    /// A process of the container called `chroot`: from then on every
    /// call reads its caller's root (until then all are the container's).
    chrooted: AtomicBool,
}

impl Service {
    pub fn new(
        sentry: OwnedFd,
        proc: OwnedFd,
        root: OwnedFd,
        own: Own,
        strace: bool,
    ) -> Result<Service> {
        Ok(Service {
            sentry,
            proc,
            root,
            own,
            routes: crate::calls::table().context("the gofer's handlers")?,
            procs: ProcMounts::default(),
            strace,
            status: Default::default(),
            chrooted: AtomicBool::new(false),
        })
    }

    /// Set before a `chroot` runs (it is continued to the kernel), so no
    /// later call misses its effect.
    pub fn saw_chroot(&self) {
        self.chrooted.store(true, Ordering::SeqCst);
    }

    pub fn chrooted(&self) -> bool {
        self.chrooted.load(Ordering::SeqCst)
    }

    pub fn proc(&self) -> BorrowedFd<'_> {
        self.proc.as_fd()
    }

    pub fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// The call's name and route; `None` for a call the sentry serves.
    pub fn route(&self, nr: i32) -> Option<(&'static str, Route)> {
        usize::try_from(nr)
            .ok()
            .and_then(|n| self.routes.get(n).copied().flatten())
    }

    /// Hand a call the gofer does not serve to the sentry.
    pub fn forward(&self, listener: u32, n: &Notif) -> Result<(), Errno> {
        let m = Message::Forward(Forward {
            listener,
            notif: n.to_bytes(),
        });
        self.send(&m)
    }

    pub fn send(&self, m: &Message) -> Result<(), Errno> {
        moat_goferproto::send(self.sentry.as_fd(), &m.encode(), None)
    }
}

/// Serve until the sentry closes its end.
pub fn run(svc: Arc<Service>) -> Result<()> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let got = moat_goferproto::recv(svc.sentry.as_fd(), &mut buf)
            .context("reading from the sentry")?;
        if got.len == 0 && moat_goferproto::peer_closed(svc.sentry.as_fd()) {
            return Ok(());
        }
        match (Message::decode(&buf[..got.len]), got.fd) {
            (Ok(Message::Serve(s)), Some(listener)) => {
                crate::pool::start(svc.clone(), listener, s.listener)
            }
            (m, _) => tracing::warn!("unexpected message from the sentry: {m:?}"),
        }
    }
}
