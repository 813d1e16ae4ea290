//! `exec`: a new process in a running container, started by its sentry.
//!
//! The front end that asks stays behind as the process's stand-in: it
//! forwards signals to it and exits with its exit code, so callers that
//! track pids (containerd's runc shim reaps the pid it is given) see the
//! exec'd process's life through it. With `detach`, a forked waiter plays
//! that part and its pid goes to `--pid-file`. If the stand-in dies, the
//! sentry kills the process.

use nix::unistd::{fork, pipe, ForkResult};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::control::{self, Reply, Request};
use crate::pod::Target;
use crate::proc::ProcId;
use crate::state::{self, Status};
use crate::{Error, Result, Runtime};

/// Options of `exec`.
#[derive(Debug, Clone)]
pub struct ExecOpts {
    pub process: oci_spec::runtime::Process,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
}

/// Fails unless the container can run another process.
fn check_running(rt: &Runtime, id: &str) -> Result<()> {
    let st = rt.state(id)?;
    // A paused container's sentry is frozen with it: nothing would answer.
    if matches!(st.status, Status::Stopped | Status::Paused) {
        return Err(Error::WrongState {
            id: id.to_string(),
            status: st.status.to_string(),
            wanted: "cannot exec in it",
        });
    }
    Ok(())
}

pub(crate) fn exec(rt: &Runtime, id: &str, opts: &ExecOpts) -> Result<i32> {
    check_running(rt, id)?;
    let to = crate::pod::Target::of(rt, &rt.state(id)?)?;
    let console = match (
        opts.process.terminal().unwrap_or(false),
        &opts.console_socket,
    ) {
        (true, Some(p)) => Some(OwnedFd::from(UnixStream::connect(p).map_err(|e| {
            Error::io(format!("connecting to console socket {}", p.display()), e)
        })?)),
        (true, None) => {
            return Err(Error::Other(
                "process.terminal is set: --console-socket is required".into(),
            ))
        }
        (false, _) => None,
    };
    if !opts.detach {
        return run_exec(&to, opts, console, None);
    }
    let (r, w) = pipe().map_err(|e| Error::errno("exec pipe", e))?;
    // SAFETY: the CLI is single-threaded here, so the child may run any code.
    match unsafe { fork() }.map_err(|e| Error::errno("fork", e))? {
        ForkResult::Child => {
            drop(r);
            let code = run_exec(&to, opts, console, Some(w)).unwrap_or(255);
            std::process::exit(code)
        }
        ForkResult::Parent { child } => {
            drop(w);
            drop(console);
            let mut answer = String::new();
            let _ = std::fs::File::from(r).read_to_string(&mut answer);
            match answer.strip_prefix("ok") {
                Some(_) => {
                    if let Some(p) = &opts.pid_file {
                        state::write_atomic(p, child.as_raw().to_string().as_bytes())?;
                    }
                    Ok(0)
                }
                None => {
                    let _ = nix::sys::wait::waitpid(child, None);
                    let msg = answer.strip_prefix("error: ").unwrap_or(&answer);
                    Err(Error::Sentry(if msg.is_empty() {
                        "exec failed".into()
                    } else {
                        msg.to_string()
                    }))
                }
            }
        }
    }
}

/// Ask the sentry to start the process, then wait for its end. `report`
/// (detached mode) receives "ok" or "error: ..." once the start is known.
fn run_exec(
    to: &Target,
    opts: &ExecOpts,
    console: Option<OwnedFd>,
    report: Option<OwnedFd>,
) -> Result<i32> {
    let started = start_remote(to, opts, console.as_ref());
    drop(console);
    let (sock, pid) = match (started, report) {
        (Ok(v), None) => v,
        (Err(e), None) => return Err(e),
        (Ok(v), Some(w)) => {
            let _ = std::fs::File::from(w).write_all(b"ok");
            release_stdio(opts.preserve_fds);
            v
        }
        (Err(e), Some(w)) => {
            let _ = std::fs::File::from(w).write_all(format!("error: {e}").as_bytes());
            return Err(e);
        }
    };
    // A process that already ended has nothing to forward signals to.
    if let Ok(target) = ProcId::of(pid) {
        crate::signal::forward_to(target)?;
    }
    loop {
        match control::recv::<Reply>(sock.as_raw_fd())? {
            Some((Reply::Exited { code }, _)) => return Ok(code),
            Some(_) => continue,
            None => return Err(Error::Sentry("the sentry went away".into())),
        }
    }
}

fn start_remote(to: &Target, opts: &ExecOpts, console: Option<&OwnedFd>) -> Result<(OwnedFd, i32)> {
    let mut fds: Vec<RawFd> = vec![0, 1, 2];
    fds.extend(console.map(|c| c.as_raw_fd()));
    fds.extend((0..opts.preserve_fds as RawFd).map(|i| 3 + i));
    ask_sentry(
        to,
        &opts.process,
        console.is_some(),
        opts.preserve_fds,
        &fds,
    )
}

/// Send the exec request with its descriptors (stdio, console, preserved).
fn ask_sentry(
    to: &Target,
    process: &oci_spec::runtime::Process,
    console: bool,
    preserve_fds: u32,
    fds: &[RawFd],
) -> Result<(OwnedFd, i32)> {
    let sock = control::connect_dir(&to.dir)?;
    let req = Request::Exec {
        process: Box::new(process.clone()),
        console,
        preserve_fds,
        container: to.container.clone(),
    };
    match control::call(sock.as_raw_fd(), &req, fds)? {
        Reply::Started { pid } => Ok((sock, pid)),
        other => Err(Error::Sentry(format!("unexpected reply {other:?}"))),
    }
}

/// A process started by [`Runtime::exec_start`](crate::Runtime::exec_start).
pub struct Execution {
    /// Host pid.
    pub pid: i32,
    /// The sentry reports the exit here; closing it kills the process.
    sock: OwnedFd,
}

impl Execution {
    /// Block until the process ends; its shell-style exit code.
    pub fn wait(&self) -> Result<i32> {
        loop {
            match control::recv::<Reply>(self.sock.as_raw_fd())? {
                Some((Reply::Exited { code }, _)) => return Ok(code),
                Some(_) => continue,
                None => return Err(Error::Sentry("the sentry went away".into())),
            }
        }
    }
}

pub(crate) fn start(
    rt: &Runtime,
    id: &str,
    process: &oci_spec::runtime::Process,
    stdio: [RawFd; 3],
    console_socket: Option<&Path>,
) -> Result<Execution> {
    check_running(rt, id)?;
    let console = match console_socket {
        Some(p) => Some(OwnedFd::from(UnixStream::connect(p).map_err(|e| {
            Error::io(format!("connecting to console socket {}", p.display()), e)
        })?)),
        None => None,
    };
    let mut fds = stdio.to_vec();
    fds.extend(console.as_ref().map(|c| c.as_raw_fd()));
    let to = Target::of(rt, &rt.state(id)?)?;
    let (sock, pid) = ask_sentry(&to, process, console.is_some(), 0, &fds)?;
    Ok(Execution { pid, sock })
}

/// A detached waiter must not hold the caller's stdio (the caller waits for
/// EOF on it): point 0-2 at /dev/null and close the preserved descriptors.
fn release_stdio(preserve_fds: u32) {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let null = null.into_raw_fd();
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors, which we own.
            unsafe { libc::dup2(null, fd) };
        }
        // SAFETY: `null` came from into_raw_fd above and is closed once.
        unsafe { libc::close(null) };
    }
    for i in 0..preserve_fds as RawFd {
        // SAFETY: closing inherited descriptors nothing else in this process uses.
        unsafe { libc::close(3 + i) };
    }
}
