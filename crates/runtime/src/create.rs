//! `create`, `start` and `run`: starting a container's sentry and letting its
//! init go.

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::control::{self, Reply, Request};
use crate::proc::ProcId;
use crate::state::{self, ContainerState, Status};
use crate::{bundle, CreateOpts, Error, Result, Runtime};

/// Removes a half-made state directory unless disarmed.
struct DirGuard(Option<PathBuf>);

impl DirGuard {
    /// Create the container's state directory; an existing one is
    /// another container of that id.
    fn create(dir: &std::path::Path, id: &str) -> Result<DirGuard> {
        match fs::create_dir(dir) {
            Ok(()) => Ok(DirGuard(Some(dir.to_path_buf()))),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::Exists(id.to_string()))
            }
            Err(e) => Err(Error::io(format!("creating {}", dir.display()), e)),
        }
    }
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// Removes the container's cgroup unless disarmed: a sentry that dies
/// before the container exists has joined (created) it already, and no
/// state records it for `delete` to find.
struct CgroupGuard(Option<String>);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            if let Err(e) = crate::cgroup::Cgroup::open(&path).and_then(|cg| cg.destroy(&path)) {
                tracing::warn!("removing the cgroup of a failed create: {e}");
            }
        }
    }
}

pub(crate) fn create(rt: &Runtime, id: &str, opts: &CreateOpts) -> Result<ContainerState> {
    let bundle = bundle::load(&opts.bundle)?;
    match crate::pod::sandbox_for(rt, id, &bundle) {
        Some(sandbox) => create_member(rt, id, opts, &bundle, &sandbox),
        None => create_child(rt, id, opts).map(|(st, _child)| st),
    }
}

/// Create a container of a running pod in the pod's sentry (see `pod`).
fn create_member(
    rt: &Runtime,
    id: &str,
    opts: &CreateOpts,
    bundle: &bundle::Bundle,
    sandbox: &ContainerState,
) -> Result<ContainerState> {
    let dir = rt.container_dir(id)?;
    let console = console_for(&bundle.spec, opts)?;
    let mut guard = DirGuard::create(&dir, id)?;
    let cgroup = wants_cgroup(&bundle.spec)
        .then(|| crate::cgroup::path_of(&bundle.spec, id, rt.systemd_cgroup))
        .transpose()?;
    let mut cgroup_guard = CgroupGuard(cgroup.clone());
    let fds = crate::pod::MemberFds {
        stdio: crate::pod::stdio_of(opts.stdio),
        console: console.as_ref(),
        preserve_fds: opts.preserve_fds,
    };
    let st = crate::pod::add(rt, id, bundle, sandbox, cgroup, &fds)?;
    let saved = st.save(&dir).and_then(|()| match &opts.pid_file {
        Some(p) => state::write_atomic(p, st.pid().pid.to_string().as_bytes()),
        None => Ok(()),
    });
    if let Err(e) = saved {
        let _ = st.init.signal(nix::sys::signal::Signal::SIGKILL);
        return Err(e);
    }
    guard.0 = None;
    cgroup_guard.0 = None;
    Ok(st)
}

/// The console socket a `terminal` process needs, connected.
fn console_for(spec: &oci_spec::runtime::Spec, opts: &CreateOpts) -> Result<Option<OwnedFd>> {
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    match (terminal, &opts.console_socket) {
        (true, Some(path)) => Ok(Some(connect_console(path)?)),
        (true, None) => Err(Error::Other(
            "process.terminal is set: --console-socket is required".into(),
        )),
        (false, _) => Ok(None),
    }
}

/// Create the container; the returned child is the sentry (for `run` to wait on).
fn create_child(rt: &Runtime, id: &str, opts: &CreateOpts) -> Result<(ContainerState, Child)> {
    let dir = rt.container_dir(id)?;
    let bundle = bundle::load(&opts.bundle)?;
    let console = console_for(&bundle.spec, opts)?;
    fs::create_dir_all(&rt.root)
        .map_err(|e| Error::io(format!("creating {}", rt.root.display()), e))?;
    let mut guard = DirGuard::create(&dir, id)?;

    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::errno("sentry sync socket", e))?;
    let cgroup = wants_cgroup(&bundle.spec)
        .then(|| crate::cgroup::path_of(&bundle.spec, id, rt.systemd_cgroup))
        .transpose()?;
    if let Some(path) = &cgroup {
        state::write_atomic(&dir.join(state::PENDING_CGROUP), path.as_bytes())?;
    }
    let mut cgroup_guard = CgroupGuard(cgroup.clone());
    let mut child = spawn_sentry(
        rt,
        id,
        &bundle.dir,
        &dir,
        opts,
        &SentryFds {
            sync: &theirs,
            console: console.as_ref(),
        },
        cgroup.as_deref(),
    )?;
    drop(theirs);
    drop(console);

    let init_pid = match control::recv::<Reply>(ours.as_raw_fd()) {
        Ok(Some((Reply::Created { init_pid }, _))) => init_pid,
        Ok(Some((Reply::Error { message }, _))) => {
            let _ = child.wait();
            return Err(Error::Sentry(message));
        }
        other => {
            let status = child.wait();
            let why = match other {
                Err(e) => e.to_string(),
                _ => format!("{status:?}"),
            };
            return Err(Error::Sentry(format!(
                "sentry exited before the container was created: {why}"
            )));
        }
    };
    let st = ContainerState {
        id: id.to_string(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        sentry: ProcId::of(child.id() as i32)?,
        init: ProcId::of(init_pid)?,
        created: humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string(),
        started: false,
        annotations: bundle.spec.annotations().clone().unwrap_or_default(),
        owner: "root".into(),
        cgroup,
        pod: None,
        status: Status::Created,
    };
    let saved = st.save(&dir).and_then(|()| match &opts.pid_file {
        Some(p) => state::write_atomic(p, st.sentry.pid.to_string().as_bytes()),
        None => Ok(()),
    });
    if let Err(e) = saved {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    guard.0 = None;
    cgroup_guard.0 = None;
    Ok((st, child))
}

/// A cgroup when the spec names one or limits resources (Docker and
/// containerd always name one).
fn wants_cgroup(spec: &oci_spec::runtime::Spec) -> bool {
    spec.linux()
        .as_ref()
        .is_some_and(|l| l.cgroups_path().is_some() || l.resources().is_some())
}

fn connect_console(path: &Path) -> Result<OwnedFd> {
    let s = UnixStream::connect(path).map_err(|e| {
        Error::io(
            format!("connecting to console socket {}", path.display()),
            e,
        )
    })?;
    Ok(OwnedFd::from(s))
}

/// The descriptors a starting sentry inherits.
struct SentryFds<'a> {
    sync: &'a OwnedFd,
    console: Option<&'a OwnedFd>,
}

/// Start `moat-sentry create ...` with stdio inherited, the preserved
/// descriptors at 3.., then the sync socket and the console socket.
fn spawn_sentry(
    rt: &Runtime,
    id: &str,
    bundle: &Path,
    dir: &Path,
    opts: &CreateOpts,
    fds: &SentryFds,
    cgroup: Option<&str>,
) -> Result<Child> {
    let (sync, console) = (fds.sync, fds.console);
    let base = 3 + opts.preserve_fds as RawFd;
    let mut cmd = Command::new(Runtime::sentry_binary()?);
    cmd.arg("create")
        .arg("--id")
        .arg(id)
        .arg("--bundle")
        .arg(bundle)
        .arg("--state-dir")
        .arg(dir)
        .arg("--sync-fd")
        .arg(base.to_string())
        .arg("--preserve-fds")
        .arg(opts.preserve_fds.to_string());
    if console.is_some() {
        cmd.arg("--console-fd").arg((base + 1).to_string());
    }
    if let Some(path) = cgroup {
        cmd.arg("--cgroup").arg(path);
    }
    rt.sentry_log_args(&mut cmd);
    if let Some(stdio) = opts.stdio {
        let [i, o, e] = stdio.map(|fd| {
            // SAFETY: the caller lends these descriptors for this call.
            unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()
        });
        let dup = |r: std::io::Result<OwnedFd>| r.map_err(|e| Error::io("stdio for the sentry", e));
        cmd.stdin(dup(i)?).stdout(dup(o)?).stderr(dup(e)?);
    }
    let mut moves = vec![(sync.as_raw_fd(), base)];
    if let Some(c) = console {
        moves.push((c.as_raw_fd(), base + 1));
    }
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe system calls (fcntl, dup2, setsid) on descriptors
    // this process owns; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            place_fds(&moves)?;
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| Error::io("starting moat-sentry", e))
}

/// Move each `(from, to)` descriptor to number `to`, without clobbering a
/// source that sits on another target number. Runs after fork: no allocation.
fn place_fds(moves: &[(RawFd, RawFd)]) -> std::io::Result<()> {
    let mut staged: [RawFd; 2] = [-1; 2];
    for (i, &(from, _)) in moves.iter().enumerate().take(2) {
        // SAFETY: plain fcntl on an fd we own; the copy is close-on-exec.
        let fd = unsafe { libc::fcntl(from, libc::F_DUPFD_CLOEXEC, 1000) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        staged[i] = fd;
    }
    for (i, &(_, to)) in moves.iter().enumerate().take(2) {
        // SAFETY: dup2 onto a number we chose; the new descriptor is inheritable.
        if unsafe { libc::dup2(staged[i], to) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

pub(crate) fn start(rt: &Runtime, id: &str) -> Result<()> {
    let mut st = rt.state(id)?;
    if st.status != Status::Created {
        return Err(Error::WrongState {
            id: id.to_string(),
            status: st.status.to_string(),
            wanted: "only a created container can be started",
        });
    }
    let target = crate::pod::Target::of(rt, &st)?;
    let sock = control::connect_dir(&target.dir)?;
    let request = match target.container {
        Some(id) => Request::StartContainer { id },
        None => Request::Start,
    };
    if let Err(e) = control::call(sock.as_raw_fd(), &request, &[]) {
        // The init failed to execve and the sentry is exiting. Return once
        // its parent (the shim, a subreaper) has reaped it: Docker deletes
        // the task at once, and containerd refuses while the shim has not
        // yet seen the exit (the task is still "created"), which left the
        // shim behind. A zombie is not enough: the shim learns of the exit
        // only when it reaps.
        st.pid().wait_reaped(std::time::Duration::from_secs(5));
        return Err(e);
    }
    state::mark_started(rt, &mut st)?;
    // Here, as runc does, not in the sentry: the sentry cannot execve.
    state::run_hooks(&st, crate::hooks::Point::Poststart, "running");
    Ok(())
}

pub(crate) fn run(rt: &Runtime, id: &str, opts: &CreateOpts, detach: bool) -> Result<i32> {
    let (st, mut child) = create_child(rt, id, opts)?;
    if !detach {
        crate::signal::forward_to(st.init)?;
    }
    if let Err(e) = start(rt, id) {
        let _ = rt.delete(id, true);
        return Err(e);
    }
    if detach {
        return Ok(0);
    }
    let status = child
        .wait()
        .map_err(|e| Error::io("waiting for the sentry", e))?;
    let code = status
        .code()
        .or_else(|| std::os::unix::process::ExitStatusExt::signal(&status).map(|s| 128 + s))
        .unwrap_or(255);
    rt.delete(id, true)?;
    Ok(code)
}

impl Runtime {
    /// The logging flags the sentry inherits from the front end.
    fn sentry_log_args(&self, cmd: &mut Command) {
        if let Some(log) = &self.log {
            cmd.arg("--log").arg(log);
        }
        if self.log_json {
            cmd.arg("--log-format").arg("json");
        }
        if self.debug {
            cmd.arg("--debug");
        }
        if self.strace {
            cmd.arg("--strace");
        }
    }
}
