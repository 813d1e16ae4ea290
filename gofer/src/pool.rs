//! The workers of one listener. Every worker waits for a notification
//! (poll, then `SECCOMP_IOCTL_NOTIF_RECV` on the gofer's copy of the
//! listener), and the one that gets it serves it itself: no hand-off
//! between threads on the way. When the last idle worker takes a call, a
//! new one is started first, so a call that blocks (a FIFO, a lease break,
//! a slow volume) blocks only its caller; up to [`MAX_WORKERS`] per
//! listener. When no process uses the filter any more (`POLLHUP`), the
//! workers end; those waiting inside `RECV`, which a hang-up does not wake,
//! are interrupted with `SIGUSR1`.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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
/// The signal that interrupts a worker waiting in `RECV`.
pub const WAKE: libc::c_int = libc::SIGUSR1;

struct Pool {
    svc: Arc<Service>,
    listener: OwnedFd,
    id: u32,
    idle: AtomicUsize,
    total: AtomicUsize,
    closed: AtomicBool,
    tids: Mutex<Vec<libc::pid_t>>,
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
        tids: Mutex::new(Vec::new()),
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
    // SAFETY: gettid takes no arguments.
    let tid = unsafe { libc::gettid() };
    if let Ok(mut t) = pool.tids.lock() {
        t.push(tid);
    }
    while let Some(n) = next(pool) {
        if pool.idle.load(Ordering::SeqCst) == 0 {
            spawn(pool);
        }
        serve(pool, &n);
    }
    if let Ok(mut t) = pool.tids.lock() {
        t.retain(|&x| x != tid);
    }
}

/// The next notification, or `None` once the listener is done.
fn next(pool: &Pool) -> Option<ioctl::Notif> {
    pool.idle.fetch_add(1, Ordering::SeqCst);
    let got = loop {
        if pool.closed.load(Ordering::SeqCst) {
            break None;
        }
        let mut fds = [PollFd::new(pool.listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!("polling a seccomp listener: {e}");
                break None;
            }
        }
        let ready = fds[0].revents().unwrap_or(PollFlags::empty());
        if !ready.contains(PollFlags::POLLIN) {
            close(pool);
            break None;
        }
        match ioctl::recv(pool.listener.as_raw_fd()) {
            Ok(n) => break Some(n),
            // Another worker took it, the caller vanished, or a wake-up.
            Err(Errno::ENOENT | Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!("receiving a seccomp notification: {e}");
                break None;
            }
        }
    };
    pool.idle.fetch_sub(1, Ordering::SeqCst);
    got
}

/// No process uses the filter any more: end every worker.
fn close(pool: &Pool) {
    pool.closed.store(true, Ordering::SeqCst);
    // SAFETY: getpid and gettid take no arguments.
    let (me, tid) = unsafe { (libc::getpid(), libc::gettid()) };
    if let Ok(t) = pool.tids.lock() {
        for &other in t.iter().filter(|&&t| t != tid) {
            // SAFETY: tgkill signals a thread of this process; WAKE has a
            // no-op handler, so it only interrupts a blocking call.
            unsafe { libc::syscall(libc::SYS_tgkill, me, other, WAKE) };
        }
    }
}

fn serve(pool: &Pool, n: &ioctl::Notif) {
    let svc = &pool.svc;
    let Some((name, handler)) = svc.handler(n.data.nr) else {
        if let Err(e) = svc.forward(pool.id, n) {
            tracing::warn!("forwarding a call to the sentry: {e}");
            answer(pool, n.id, Err(Errno::EIO));
        }
        return;
    };
    let fd = pool.listener.as_raw_fd();
    let mut call = Call::new(svc, fd, pool.id, n);
    let result = handler(&mut call);
    if svc.strace {
        strace(n, name, &result);
    }
    answer(pool, n.id, result);
}

fn answer(pool: &Pool, id: u64, result: Result<Reply, Errno>) {
    let fd = pool.listener.as_raw_fd();
    let resp = |val, error, flags| ioctl::NotifResp { id, val, error, flags };
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
