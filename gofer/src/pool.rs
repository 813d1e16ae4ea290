//! The workers of one listener. One idle worker at a time, the leader,
//! waits inside `SECCOMP_IOCTL_NOTIF_RECV` itself; the other idle workers
//! wait for the leader's place (a mutex). With the listener's synchronous
//! wake-up the kernel switches from the caller straight to the leader on
//! the caller's CPU, and the leader takes the call out of the queue
//! before it returns to user space: the time in which a signal can still
//! interrupt the caller's call (a call not yet received is interrupted
//! like any sleep, `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` protects it
//! only from then on) is the kernel's own switch, not a trip through
//! user space. A call continued by number alone (the metadata reads,
//! `execve`...) the leader answers at once and stays in its place; for
//! any other it leaves its place as soon as it holds the call, so the
//! next idle worker is in RECV while the call is served.
//!
//! When the last idle worker takes a call, a new one is started, so a
//! call that blocks (a FIFO, a lease break, a slow volume) blocks only
//! its caller; up to [`MAX_WORKERS`] per listener. When no process uses
//! the filter any more, RECV returns (ENOENT) and the listener polls as
//! hung up: every worker ends.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use moat_notify::ioctl;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::call::{Call, Poisoned, Reply};
use crate::calls::Route;
use crate::interrupt::Serving;
use crate::service::Service;

/// Workers one listener may have: that many calls may block at once
/// before the next waits for one of them.
pub const MAX_WORKERS: usize = 256;
/// The kernel's "interrupted, restart unless a handler says otherwise".
const ERESTARTSYS: i32 = 512;
/// A worker needs little stack: no recursion, paths on the heap.
const STACK: usize = 256 * 1024;

struct Pool {
    svc: Arc<Service>,
    listener: OwnedFd,
    id: u32,
    /// Held by the one worker waiting in RECV.
    leader: Mutex<()>,
    idle: AtomicUsize,
    total: AtomicUsize,
    closed: AtomicBool,
}

/// Serve `listener` (the sentry's number `id`) with a pool of workers.
pub fn start(svc: Arc<Service>, listener: OwnedFd, id: u32) {
    if let Err(e) = ioctl::set_sync_wakeup(listener.as_raw_fd()) {
        tracing::debug!("synchronous wake-up unavailable: {e}");
    }
    let pool = Arc::new(Pool {
        svc,
        listener,
        id,
        leader: Mutex::new(()),
        idle: AtomicUsize::new(0),
        total: AtomicUsize::new(0),
        closed: AtomicBool::new(false),
    });
    spawn(&pool);
}

fn spawn(pool: &Arc<Pool>) {
    if pool.total.fetch_add(1, Ordering::SeqCst) >= MAX_WORKERS {
        pool.total.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    let p = pool.clone();
    let started = std::thread::Builder::new()
        .name("worker".into())
        .stack_size(STACK)
        .spawn(move || {
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&p)));
            if let Err(payload) = run {
                if payload.downcast_ref::<Poisoned>().is_none() {
                    tracing::error!("a worker panicked");
                }
            }
            p.total.fetch_sub(1, Ordering::SeqCst);
        });
    if let Err(e) = started {
        tracing::error!("starting a worker: {e}");
        pool.total.fetch_sub(1, Ordering::SeqCst);
    }
}

fn work(pool: &Arc<Pool>) {
    // A root, cwd and umask of this worker's own: it takes on each
    // caller's for a call.
    if let Err(e) = crate::sys::unshare_fs() {
        tracing::error!("unshare(CLONE_FS) in a worker: {e}");
        return;
    }
    let mut worn = crate::creds::Worn::default();
    while let Some(n) = next(pool) {
        serve(pool, &n, &mut worn);
    }
}

/// The next notification, or `None` once the listener is done.
fn next(pool: &Arc<Pool>) -> Option<ioctl::Notif> {
    pool.idle.fetch_add(1, Ordering::SeqCst);
    let got = receive(pool);
    if pool.idle.fetch_sub(1, Ordering::SeqCst) == 1 && got.is_some() {
        spawn(pool);
    }
    got
}

/// Take the leader's place and receive the next call.
fn receive(pool: &Pool) -> Option<ioctl::Notif> {
    let fd = pool.listener.as_raw_fd();
    while !pool.closed.load(Ordering::SeqCst) {
        let got = {
            // A worker that panicked holding the place held no state in it.
            let _leader = pool.leader.lock().unwrap_or_else(|p| p.into_inner());
            if pool.closed.load(Ordering::SeqCst) {
                return None;
            }
            // Answer continued calls without leaving the place (dropping
            // the guard would wake a follower to take it).
            loop {
                match ioctl::recv(fd) {
                    Ok(n) if continued(pool, &n) => {}
                    got => break got,
                }
            }
        };
        match got {
            Ok(n) => return Some(n),
            // The caller vanished before it was received, or the filter
            // has no process left.
            Err(Errno::ENOENT) if hung_up(pool) => return close(pool),
            Err(Errno::ENOENT | Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!("receiving a seccomp notification: {e}");
                return close(pool);
            }
        }
    }
    None
}

/// Answer a call continued by number at once, keeping the leader's
/// place: it needs no worker of its own.
fn continued(pool: &Pool, n: &ioctl::Notif) -> bool {
    let Some((name, Route::Continue)) = pool.svc.route(n.data.nr) else {
        return false;
    };
    if pool.svc.strace {
        strace(n, name, &Ok(Reply::Continue));
    }
    answer(pool, n.id, Ok(Reply::Continue));
    true
}

/// Whether no process uses the listener's filter any more.
fn hung_up(pool: &Pool) -> bool {
    let mut fds = [PollFd::new(pool.listener.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(_) => fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR)),
        Err(_) => false,
    }
}

/// No process uses the filter any more: end every worker.
fn close(pool: &Pool) -> Option<ioctl::Notif> {
    pool.closed.store(true, Ordering::SeqCst);
    None
}

fn serve(pool: &Pool, n: &ioctl::Notif, worn: &mut crate::creds::Worn) {
    let svc = &pool.svc;
    let (name, result) = match svc.route(n.data.nr) {
        None => {
            if let Err(e) = svc.forward(pool.id, n) {
                tracing::warn!("forwarding a call to the sentry: {e}");
                answer(pool, n.id, Err(Errno::EIO));
            }
            return;
        }
        // Answered by the leader; here only should that change.
        Some((name, Route::Continue)) => (name, Ok(Reply::Continue)),
        Some((name, Route::Serve(handler))) => {
            let fd = pool.listener.as_raw_fd();
            let serving = Serving::begin(fd, n.id, n.pid);
            let result = match handler(&mut Call::new(svc, fd, pool.id, n, worn)) {
                Err(Errno::EINTR) if serving.for_a_signal() => Ok(Reply::Restart),
                r => r,
            };
            (name, result)
        }
    };
    if svc.strace {
        strace(n, name, &result);
    }
    answer(pool, n.id, result);
}

fn answer(pool: &Pool, id: u64, result: Result<Reply, Errno>) {
    let fd = pool.listener.as_raw_fd();
    let resp = |val, error, flags| ioctl::NotifResp {
        id,
        val,
        error,
        flags,
    };
    let sent = match result {
        Ok(Reply::Value(v)) => ioctl::send(fd, &resp(v, 0, 0)),
        Ok(Reply::Continue) => ioctl::send(fd, &resp(0, 0, ioctl::FLAG_CONTINUE)),
        Ok(Reply::Fd { fd: file, cloexec }) => {
            ioctl::add_fd_and_send(fd, id, file.as_raw_fd(), cloexec).map(drop)
        }
        Ok(Reply::Sent) => Ok(()),
        Ok(Reply::Restart) => ioctl::send(fd, &resp(0, -ERESTARTSYS, 0)),
        Err(e) => ioctl::send(fd, &resp(0, -(e as i32), 0)),
    };
    match sent {
        // The caller was interrupted or died: nobody waits for the answer.
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => tracing::warn!("answering a seccomp notification: {e}"),
    }
}

fn strace(n: &ioctl::Notif, name: &str, result: &Result<Reply, Errno>) {
    let a = n.data.args;
    let shown = match result {
        Ok(Reply::Value(v)) => v.to_string(),
        Ok(Reply::Continue) => "(native)".into(),
        Ok(Reply::Fd { .. }) => "(fd)".into(),
        Ok(Reply::Sent) => "(sentry)".into(),
        Ok(Reply::Restart) => "? ERESTARTSYS".into(),
        Err(e) => format!("-1 {e}"),
    };
    tracing::info!(target: "strace", "[{}] {name}({:#x}, {:#x}, {:#x}) = {shown}", n.pid, a[0], a[1], a[2]);
}
