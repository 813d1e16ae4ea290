//! The control socket: `start` and `exec` requests from the front ends,
//! and those that build, start and wait for the pod's other containers.

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{
    accept4, bind, getsockopt, listen as listen_on, sockopt, AddressFamily, Backlog, SockFlag,
    SockType,
};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;

use crate::sandbox::Report;
use crate::supervisor::Sentry;
use moat_runtime::control::{self, Reply, Request};

/// Bind and listen on `<state dir>/sentry.sock` (before the sentry
/// confines itself: it may not create sockets afterwards).
pub fn bind_socket(state_dir: &Path) -> Result<OwnedFd> {
    let (sock, addr, _dir) = control::socket_in(state_dir)?;
    bind(sock.as_raw_fd(), &addr).context("binding the control socket")?;
    listen_on(&sock, Backlog::new(16)?).context("listening on the control socket")?;
    Ok(sock)
}

/// Serve the bound control socket on a thread.
pub fn serve_on(sock: OwnedFd, s: Arc<Sentry>) -> Result<()> {
    std::thread::Builder::new()
        .name("control".into())
        .spawn(move || accept_loop(sock, s))?;
    Ok(())
}

fn accept_loop(sock: OwnedFd, s: Arc<Sentry>) {
    loop {
        let conn = match accept4(sock.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            // SAFETY: accept4 returned a new descriptor that we now own.
            Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!("control socket: {e}");
                return;
            }
        };
        let s = s.clone();
        let _ = std::thread::Builder::new()
            .name("control-conn".into())
            .spawn(move || serve(conn, &s));
    }
}

fn serve(conn: OwnedFd, s: &Sentry) {
    let fd = conn.as_raw_fd();
    // Only the sentry's own user (root) may drive it.
    match getsockopt(&conn, sockopt::PeerCredentials) {
        Ok(cred) if cred.uid() == nix::unistd::geteuid().as_raw() => {}
        _ => return,
    }
    let result = match control::recv::<Request>(fd) {
        Ok(Some((Request::Start, _))) => {
            let _answering = s.starting.lock();
            let reply = match start(s) {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::Error {
                    message: format!("{e:#}"),
                },
            };
            let _ = control::send(fd, &reply, &[]);
            return;
        }
        Ok(Some((
            Request::Exec {
                process,
                console,
                preserve_fds,
                container,
            },
            fds,
        ))) => {
            let conn = Arc::new(conn);
            let ask = Exec {
                process: &process,
                console,
                preserve_fds,
                container: container.as_deref(),
            };
            return match exec(s, &conn, &ask, fds) {
                Ok(()) => {}
                Err(e) => {
                    let _ = control::send(
                        fd,
                        &Reply::Error {
                            message: format!("{e:#}"),
                        },
                        &[],
                    );
                }
            };
        }
        Ok(Some((
            Request::AddContainer {
                id,
                bundle,
                spec,
                cgroup,
                console,
                preserve_fds,
            },
            fds,
        ))) => {
            let add = crate::pod::Add {
                id: &id,
                bundle: &bundle,
                spec: &spec,
                cgroup: cgroup.as_deref(),
                console,
                preserve_fds,
            };
            let want = 3 + usize::from(console) + preserve_fds as usize;
            if fds.len() != want {
                Err(anyhow!("{} descriptors, expected {want}", fds.len()))
            } else {
                crate::pod::add(s, &add, &fds).map(|init_pid| Reply::Created { init_pid })
            }
        }
        Ok(Some((Request::StartContainer { id }, _))) => {
            crate::pod::start(s, &id).map(|()| Reply::Ok)
        }
        Ok(Some((Request::WaitContainer { id }, _))) => match crate::pod::wait(s, &id, conn) {
            Ok(()) => return,
            Err(e) => {
                let _ = control::send(
                    fd,
                    &Reply::Error {
                        message: format!("{e:#}"),
                    },
                    &[],
                );
                return;
            }
        },
        Ok(None) => return,
        Err(e) => Err(anyhow!(e)),
    };
    let reply = result.unwrap_or_else(|e| Reply::Error {
        message: format!("{e:#}"),
    });
    let _ = control::send(fd, &reply, &[]);
}

/// Let the init `execve`; fails with the init's error if exec fails.
fn start(s: &Sentry) -> Result<()> {
    let chan = s
        .init_chan
        .lock()
        .map_err(|_| anyhow!("sentry state poisoned"))?
        .take()
        .context("the container was already started")?;
    nix::unistd::write(&chan, &[1]).context("waking the init")?;
    // The channel is close-on-exec: EOF means the execve succeeded.
    if let Some((Report::Error { message }, _)) = control::recv::<Report>(chan.as_raw_fd())? {
        bail!("{message}");
    }
    Ok(())
}

/// What an `Exec` request asks for.
struct Exec<'a> {
    process: &'a oci_spec::runtime::Process,
    console: bool,
    preserve_fds: u32,
    container: Option<&'a str>,
}

/// Start an exec'd process through an exec stage and wait for its end.
fn exec(s: &Sentry, conn: &Arc<OwnedFd>, ask: &Exec, fds: Vec<OwnedFd>) -> Result<()> {
    let want = 3 + usize::from(ask.console) + ask.preserve_fds as usize;
    if fds.len() != want {
        bail!(
            "exec request carried {} descriptors, expected {want}",
            fds.len()
        );
    }
    let (bundle, init, link) = match ask.container {
        Some(id) => crate::pod::target(s, id)?,
        None => (s.bundle.clone(), s.init, s.link.clone()),
    };
    let args = vec![
        "exec-stage".into(),
        "--bundle".into(),
        bundle.to_string_lossy().into_owned(),
        "--init-pid".into(),
        init.as_raw().to_string(),
    ];
    let chan = spawn_stage(s, args, ask.console, ask.preserve_fds, &fds)?;
    drop(fds);
    control::send(chan.as_raw_fd(), ask.process, &[])?;
    let (pid, listener) = collect_stage(&chan)?;
    link.serve(listener)?;
    {
        let mut execs = s
            .execs
            .lock()
            .map_err(|_| anyhow!("sentry state poisoned"))?;
        control::send(conn.as_raw_fd(), &Reply::Started { pid }, &[])?;
        match execs.early.remove(&pid) {
            Some(code) => {
                control::send(conn.as_raw_fd(), &Reply::Exited { code }, &[])?;
                return Ok(());
            }
            None => {
                execs.waiting.insert(pid, conn.clone());
            }
        }
    }
    // Wait for the front end to go; if the process outlives it, end it.
    let _ = control::recv::<Request>(conn.as_raw_fd());
    let still = s.execs.lock().map(|mut e| e.waiting.remove(&pid).is_some());
    if still.unwrap_or(false) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    Ok(())
}

/// Start a helper stage (`moat-sentry <args>`: an exec stage or a member
/// stage) through the spawner with the request's descriptors; returns the
/// sentry's end of its channel.
pub fn spawn_stage(
    s: &Sentry,
    mut args: Vec<String>,
    console: bool,
    preserve_fds: u32,
    fds: &[OwnedFd],
) -> Result<OwnedFd> {
    let (ours, theirs) = nix::sys::socket::socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    let chan_fd = 3 + preserve_fds as RawFd;
    // Target layout: stdio 0-2, preserved 3.., channel, console.
    let mut moves: Vec<(RawFd, RawFd)> = vec![
        (fds[0].as_raw_fd(), 0),
        (fds[1].as_raw_fd(), 1),
        (fds[2].as_raw_fd(), 2),
    ];
    let extra = &fds[3 + usize::from(console)..];
    moves.extend(
        extra
            .iter()
            .enumerate()
            .map(|(i, f)| (f.as_raw_fd(), 3 + i as RawFd)),
    );
    moves.push((theirs.as_raw_fd(), chan_fd));
    args.extend([
        "--chan-fd".into(),
        chan_fd.to_string(),
        "--preserve-fds".into(),
        preserve_fds.to_string(),
    ]);
    if console {
        moves.push((fds[3].as_raw_fd(), chan_fd + 1));
        args.extend(["--console-fd".into(), (chan_fd + 1).to_string()]);
    }
    args.extend(s.log.to_args());
    {
        // Hold the table while spawning: the stage may exit before its pid
        // is recorded, and the reaper must know it is a helper.
        let mut execs = s
            .execs
            .lock()
            .map_err(|_| anyhow!("sentry state poisoned"))?;
        let pid = s
            .spawner
            .spawn(args, &moves)
            .context("starting the stage")?;
        execs.helpers.insert(pid);
    }
    drop(theirs);
    Ok(ours)
}

fn collect_stage(chan: &OwnedFd) -> Result<(i32, OwnedFd)> {
    let (mut pid, mut listener) = (None, None);
    while pid.is_none() || listener.is_none() {
        match control::recv::<Report>(chan.as_raw_fd())? {
            Some((Report::Pid { pid: p }, _)) => pid = Some(p),
            Some((Report::Ready, fds)) => listener = fds.into_iter().next(),
            Some((Report::Error { message }, _)) => bail!("{message}"),
            Some((Report::Member { .. }, _)) => bail!("unexpected report from the exec stage"),
            None => bail!("the exec stage died"),
        }
    }
    Ok((pid.unwrap_or_default(), listener.context("no listener")?))
}
