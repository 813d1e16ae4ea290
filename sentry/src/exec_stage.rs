//! `moat-sentry exec-stage`: a short-lived helper the sentry spawns for each
//! exec. It joins the init's namespaces (a pid namespace applies only to
//! children, so it must fork), forks the exec'd process as the sentry's
//! child (`CLONE_PARENT`), reports its pid, and exits.

use anyhow::{bail, Context, Result};
use nix::sched::CloneFlags;
use oci_spec::runtime::Process;
use std::convert::Infallible;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use crate::args::ExecStageArgs;
use crate::filters::Filters;
use crate::fork::{clone_fork, Forked};
use crate::sandbox::{self, Report};
use moat_runtime::control;

/// Namespaces joined, in order; mount last, as it changes root and cwd.
const NAMESPACES: [(&str, CloneFlags); 6] = [
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

pub fn run(a: ExecStageArgs) -> i32 {
    crate::supervisor::run_stage(a.chan_fd, |chan| stage(&a, chan))
}

fn stage(a: &ExecStageArgs, chan: &OwnedFd) -> Result<()> {
    nix::sys::prctl::set_dumpable(false)?;
    let bundle = moat_runtime::bundle::load(&a.bundle)?;
    let filters = Filters::compile(&bundle.spec)?;
    let (process, _) =
        control::recv::<Process>(chan.as_raw_fd())?.context("the sentry sent no process")?;
    join_namespaces(a.init_pid)?;
    // SAFETY: this helper is single-threaded. CLONE_PARENT makes the
    // process the sentry's child, so the sentry reaps it.
    match unsafe { clone_fork(libc::CLONE_PARENT) }.context("forking the exec'd process")? {
        Forked::Child => {
            let err = child(a, &process, &filters, chan).unwrap_err();
            let _ = control::send(
                chan.as_raw_fd(),
                &Report::Error {
                    message: format!("{err:#}"),
                },
                &[],
            );
            std::process::exit(1)
        }
        Forked::Parent(pid) => {
            control::send(chan.as_raw_fd(), &Report::Pid { pid }, &[])?;
            Ok(())
        }
    }
}

fn child(a: &ExecStageArgs, p: &Process, filters: &Filters, chan: &OwnedFd) -> Result<Infallible> {
    // Visible in the container's pid namespace while still moat-sentry:
    // not dumpable until execve, so its /proc/<pid>/exe stays closed.
    nix::sys::prctl::set_dumpable(false)?;
    if let Some(fd) = a.console_fd {
        // SAFETY: the sentry placed the console socket at this number.
        let console = unsafe { OwnedFd::from_raw_fd(fd) };
        crate::supervisor::set_cloexec(fd);
        sandbox::console_setup(&console)?;
    }
    sandbox::process::exec(p, filters, chan, a.preserve_fds, false)
}

fn join_namespaces(init: i32) -> Result<()> {
    let mut files = Vec::new();
    for (name, kind) in NAMESPACES {
        let theirs = format!("/proc/{init}/ns/{name}");
        let f = std::fs::File::open(&theirs).with_context(|| format!("opening {theirs}"))?;
        let same = std::fs::metadata(format!("/proc/self/ns/{name}")).is_ok_and(|m| {
            f.metadata()
                .is_ok_and(|t| t.ino() == m.ino() && t.dev() == m.dev())
        });
        if !same {
            files.push((f, kind, name));
        }
    }
    if files.is_empty() {
        bail!("the container shares every namespace with the host; refusing to exec");
    }
    for (f, kind, name) in files {
        nix::sched::setns(f, kind)
            .with_context(|| format!("joining the container's {name} namespace"))?;
    }
    Ok(())
}
