//! The workers of one listener. Every idle worker waits in `epoll_wait`
//! on the pool's epoll instance, which watches the gofer's copy of the
//! listener one-shot: a notification wakes exactly one worker, which
//! receives it (`SECCOMP_IOCTL_NOTIF_RECV`), re-arms the watch and serves
//! the call itself. The re-arm wakes another idle worker only if another
//! call is already waiting, so a lone caller costs one wake-up each way
//! and no hand-off between workers. When the last idle worker takes a
//! call, a new one is started, so a call that blocks (a FIFO, a lease
//! break, a slow volume) blocks only its caller; up to [`MAX_WORKERS`]
//! per listener. When no process uses the filter any more (`EPOLLHUP`),
//! an eventfd the epoll instance also watches ends every worker.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use moat_notify::ioctl;
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::EventFd;

use crate::call::{Call, Poisoned, Reply};
use crate::service::Service;

/// Workers one listener may have: that many calls may block at once
/// before the next waits for one of them.
pub const MAX_WORKERS: usize = 256;
/// A worker needs little stack: no recursion, paths on the heap.
const STACK: usize = 256 * 1024;

/// The epoll instance's two sources.
const LISTENER: u64 = 0;
const CLOSED: u64 = 1;

struct Pool {
    svc: Arc<Service>,
    listener: OwnedFd,
    id: u32,
    epoll: Epoll,
    /// Written once the listener hangs up; level-triggered, so every
    /// waiting worker sees it.
    closing: EventFd,
    idle: AtomicUsize,
    total: AtomicUsize,
    closed: AtomicBool,
}

/// Serve `listener` (the sentry's number `id`) with a pool of workers.
pub fn start(svc: Arc<Service>, listener: OwnedFd, id: u32) {
    if let Err(e) = ioctl::set_sync_wakeup(listener.as_raw_fd()) {
        tracing::debug!("synchronous wake-up unavailable: {e}");
    }
    let pool = match watch(svc, listener, id) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::error!("watching a seccomp listener: {e}");
            return;
        }
    };
    spawn(&pool);
}

fn watch(svc: Arc<Service>, listener: OwnedFd, id: u32) -> Result<Pool, Errno> {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    let closing = EventFd::new()?;
    epoll.add(listener.as_fd(), armed())?;
    epoll.add(
        closing.as_fd(),
        EpollEvent::new(EpollFlags::EPOLLIN, CLOSED),
    )?;
    Ok(Pool {
        svc,
        listener,
        id,
        epoll,
        closing,
        idle: AtomicUsize::new(0),
        total: AtomicUsize::new(0),
        closed: AtomicBool::new(false),
    })
}

fn armed() -> EpollEvent {
    EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLONESHOT, LISTENER)
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

/// Wait for the listener, receive, and re-arm it for the next worker.
fn receive(pool: &Pool) -> Option<ioctl::Notif> {
    let mut events = [EpollEvent::empty()];
    while !pool.closed.load(Ordering::SeqCst) {
        match pool.epoll.wait(&mut events, EpollTimeout::NONE) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::error!("waiting on a seccomp listener: {e}");
                return close(pool);
            }
        }
        let ev = events[0];
        if ev.data() == CLOSED {
            return None;
        }
        if !ev.events().contains(EpollFlags::EPOLLIN) {
            return close(pool);
        }
        let got = ioctl::recv(pool.listener.as_raw_fd());
        if let Err(e) = pool.epoll.modify(pool.listener.as_fd(), &mut armed()) {
            tracing::error!("re-arming a seccomp listener: {e}");
            return close(pool);
        }
        match got {
            Ok(n) => return Some(n),
            // The caller vanished between the wake-up and recv, or a signal.
            Err(Errno::ENOENT | Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!("receiving a seccomp notification: {e}");
                return close(pool);
            }
        }
    }
    None
}

/// No process uses the filter any more: end every worker.
fn close(pool: &Pool) -> Option<ioctl::Notif> {
    pool.closed.store(true, Ordering::SeqCst);
    if let Err(e) = pool.closing.write(1) {
        tracing::error!("ending a listener's workers: {e}");
    }
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
