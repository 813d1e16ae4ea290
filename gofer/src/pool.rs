//! The workers of one listener, leader and followers: one idle worker
//! (the leader) waits on the gofer's copy of the listener (poll, then
//! `SECCOMP_IOCTL_NOTIF_RECV`), the others wait to lead. The leader that
//! receives a call hands the lead to a follower and serves the call
//! itself: no hand-off of the call between threads. Only the leader
//! polls, so the kernel's synchronous wake-up (`SYNC_WAKE_UP`) runs it on
//! the caller's CPU, and no idle worker ever sleeps inside `RECV` (whose
//! wake-ups are not synchronous). When the last idle worker takes a call,
//! a new one is started, so a call that blocks (a FIFO, a lease break, a
//! slow volume) blocks only its caller; up to [`MAX_WORKERS`] per
//! listener. When no process uses the filter any more (`POLLHUP`), the
//! workers end.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use moat_notify::ioctl;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::call::{Call, Poisoned, Reply};
use crate::service::Service;

/// Workers one listener may have: that many calls may block at once
/// before the next waits for one of them.
pub const MAX_WORKERS: usize = 256;
/// A worker needs little stack: no recursion, paths on the heap.
const STACK: usize = 256 * 1024;

struct Pool {
    svc: Arc<Service>,
    listener: OwnedFd,
    id: u32,
    idle: AtomicUsize,
    total: AtomicUsize,
    closed: AtomicBool,
    /// Whether a worker leads (waits on the listener).
    lead: Mutex<bool>,
    turn: Condvar,
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
        idle: AtomicUsize::new(0),
        total: AtomicUsize::new(0),
        closed: AtomicBool::new(false),
        lead: Mutex::new(false),
        turn: Condvar::new(),
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
        if pool.idle.load(Ordering::SeqCst) == 0 {
            spawn(pool);
        }
        serve(pool, &n, &mut worn);
    }
}

/// The next notification, or `None` once the listener is done.
fn next(pool: &Pool) -> Option<ioctl::Notif> {
    pool.idle.fetch_add(1, Ordering::SeqCst);
    let got = lead(pool).and_then(|()| {
        let n = receive(pool);
        step_down(pool);
        n
    });
    pool.idle.fetch_sub(1, Ordering::SeqCst);
    got
}

/// Wait to lead; `None` once the pool is closed.
fn lead(pool: &Pool) -> Option<()> {
    let mut leading = pool.lead.lock().ok()?;
    while *leading && !pool.closed.load(Ordering::SeqCst) {
        leading = pool.turn.wait(leading).ok()?;
    }
    if pool.closed.load(Ordering::SeqCst) {
        return None;
    }
    *leading = true;
    Some(())
}

fn step_down(pool: &Pool) {
    if let Ok(mut leading) = pool.lead.lock() {
        *leading = false;
    }
    pool.turn.notify_one();
}

/// As the leader: poll, then receive.
fn receive(pool: &Pool) -> Option<ioctl::Notif> {
    loop {
        let mut fds = [PollFd::new(pool.listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!("polling a seccomp listener: {e}");
                return close(pool);
            }
        }
        let ready = fds[0].revents().unwrap_or(PollFlags::empty());
        if !ready.contains(PollFlags::POLLIN) {
            return close(pool);
        }
        match ioctl::recv(pool.listener.as_raw_fd()) {
            Ok(n) => return Some(n),
            // The caller vanished between poll and recv, or a signal.
            Err(Errno::ENOENT | Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!("receiving a seccomp notification: {e}");
                return close(pool);
            }
        }
    }
}

/// No process uses the filter any more: end every worker.
fn close(pool: &Pool) -> Option<ioctl::Notif> {
    pool.closed.store(true, Ordering::SeqCst);
    pool.turn.notify_all();
    None
}

fn serve(pool: &Pool, n: &ioctl::Notif, worn: &mut crate::creds::Worn) {
    let svc = &pool.svc;
    let Some((name, handler)) = svc.handler(n.data.nr) else {
        if let Err(e) = svc.forward(pool.id, n) {
            tracing::warn!("forwarding a call to the sentry: {e}");
            answer(pool, n.id, Err(Errno::EIO));
        }
        return;
    };
    let fd = pool.listener.as_raw_fd();
    let mut call = Call::new(svc, fd, pool.id, n, worn);
    let result = handler(&mut call);
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
        Err(e) => format!("-1 {e}"),
    };
    tracing::info!(target: "strace", "[{}] {name}({:#x}, {:#x}, {:#x}) = {shown}", n.pid, a[0], a[1], a[2]);
}
