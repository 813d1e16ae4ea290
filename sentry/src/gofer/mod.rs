//! The sentry's side of a container's gofer ([`launch`] starts it): the
//! gofer receives the container's notifications itself, on copies of its
//! listeners the sentry sends ([`Link::serve`]), and sends back what the
//! sentry answers ([`Link::spawn`]'s thread): the calls of the sentry's
//! own modules, and opens that reached a `/proc` file the sandbox writes
//! ([`crate::procfs::open`]). When the gofer is gone, the sentry receives
//! on the listeners itself and file calls fail with `EIO`.

pub mod launch;

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use moat_goferproto::{Message, Serve, Synthetic, MAX_MESSAGE};
use moat_notify::{ioctl, Notif};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::kernel::Kernel;
use crate::notify::{self, Dispatch};

pub struct Link {
    sock: OwnedFd,
    /// The sentry's copy of each listener the gofer serves, by number.
    listeners: Mutex<HashMap<u32, Arc<OwnedFd>>>,
    next: AtomicU32,
    gone: AtomicBool,
    kernel: Arc<Kernel>,
    dispatch: Arc<Dispatch>,
}

impl Link {
    pub fn new(sock: OwnedFd, kernel: Arc<Kernel>, dispatch: Arc<Dispatch>) -> Arc<Link> {
        Arc::new(Link {
            sock,
            listeners: Mutex::new(HashMap::new()),
            next: AtomicU32::new(1),
            gone: AtomicBool::new(false),
            kernel,
            dispatch,
        })
    }

    /// Have the gofer serve `listener` (the sentry keeps a copy to answer
    /// what the gofer forwards); without a gofer, serve it here.
    pub fn serve(&self, listener: OwnedFd) -> Result<()> {
        let mut map = self
            .listeners
            .lock()
            .map_err(|_| anyhow::anyhow!("gofer link poisoned"))?;
        map.retain(|_, l| !hung_up(l));
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        if self.gone.load(Ordering::SeqCst) {
            // The link's thread receives on it (`take_over`).
            map.insert(id, Arc::new(listener));
            return Ok(());
        }
        let m = Message::Serve(Serve { listener: id });
        moat_goferproto::send(self.sock.as_fd(), &m.encode(), Some(listener.as_fd()))
            .context("sending a listener to the gofer")?;
        map.insert(id, Arc::new(listener));
        Ok(())
    }

    /// Answer what the gofer sends, on a confined thread, until it is gone.
    pub fn spawn(self: &Arc<Self>) -> Result<()> {
        let link = self.clone();
        std::thread::Builder::new()
            .name("gofer-link".into())
            .spawn(
                move || match moat_policy::install(&link.dispatch.confinement, 0) {
                    Ok(_) => link.run(),
                    Err(e) => tracing::error!("confining the gofer link thread: {e}"),
                },
            )?;
        Ok(())
    }

    fn run(&self) {
        let mut buf = vec![0u8; MAX_MESSAGE];
        loop {
            let got = match moat_goferproto::recv(self.sock.as_fd(), &mut buf) {
                Ok(g) => g,
                Err(e) => {
                    tracing::error!("reading from the gofer: {e}");
                    break;
                }
            };
            if got.len == 0 && moat_goferproto::peer_closed(self.sock.as_fd()) {
                break;
            }
            match Message::decode(&buf[..got.len]) {
                Ok(Message::Forward(f)) => {
                    if let Some(l) = self.listener(f.listener) {
                        notify::answer(
                            &self.kernel,
                            &self.dispatch,
                            l.as_raw_fd(),
                            &Notif::from_bytes(&f.notif),
                        );
                    }
                }
                Ok(Message::Synthetic(s)) => self.synthetic(&s),
                other => tracing::warn!("unexpected message from the gofer: {other:?}"),
            }
        }
        self.take_over();
    }

    fn listener(&self, id: u32) -> Option<Arc<OwnedFd>> {
        let map = self.listeners.lock().ok()?;
        map.get(&id).cloned()
    }

    /// The listeners still in use, without holding the map's lock while
    /// they are served (a new exec's `serve` must not wait for that).
    fn live(&self) -> Option<Vec<Arc<OwnedFd>>> {
        let mut map = self.listeners.lock().ok()?;
        map.retain(|_, l| !hung_up(l));
        Some(map.values().cloned().collect())
    }

    /// Answer an open with the sentry's copy of a `/proc` file.
    fn synthetic(&self, s: &Synthetic) {
        let Some(l) = self.listener(s.listener) else {
            return;
        };
        let l = l.as_raw_fd();
        let file = crate::procfs::open(&self.kernel, s.tid, &s.path);
        let sent = match file {
            Ok(fd) if ioctl::id_valid(l, s.id) => {
                ioctl::add_fd_and_send(l, s.id, fd.as_raw_fd(), s.cloexec).map(drop)
            }
            Ok(_) => Ok(()),
            Err(e) => ioctl::send(
                l,
                &ioctl::NotifResp {
                    id: s.id,
                    val: 0,
                    error: -(e as i32),
                    flags: 0,
                },
            ),
        };
        if let Err(e) = sent {
            if e != Errno::ENOENT {
                tracing::warn!("answering a synthetic /proc open: {e}");
            }
        }
    }

    /// The gofer is gone: receive on every listener here, from this
    /// thread (its allowlist starts no threads), until the sentry ends.
    fn take_over(&self) {
        tracing::error!("the gofer is gone: file calls fail with EIO");
        self.gone.store(true, Ordering::SeqCst);
        while let Some(live) = self.live() {
            let mut fds: Vec<PollFd> = live
                .iter()
                .map(|l| PollFd::new(l.as_fd(), PollFlags::POLLIN))
                .collect();
            if poll(&mut fds, PollTimeout::from(100u8)).is_err() {
                continue;
            }
            let ready: Vec<RawFd> = fds
                .iter()
                .zip(&live)
                .filter(|(f, _)| f.revents().is_some_and(|r| r.contains(PollFlags::POLLIN)))
                .map(|(_, l)| l.as_raw_fd())
                .collect();
            drop(fds);
            for l in ready {
                if let Ok(n) = ioctl::recv(l) {
                    notify::answer(&self.kernel, &self.dispatch, l, &n);
                }
            }
        }
    }
}

/// No process uses the filter any more.
fn hung_up(l: &OwnedFd) -> bool {
    let mut fds = [PollFd::new(l.as_fd(), PollFlags::empty())];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLHUP))
}
