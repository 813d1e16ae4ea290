//! The sentry's life: create the sandbox, report to `create`, then supervise
//! until the init exits, and exit with the init's status.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::args::{CreateArgs, LogArgs};
use crate::filters::Filters;
use crate::kernel::Kernel;
use crate::notify::Dispatch;
use crate::sandbox::{self, InitCtx, Report};
use crate::spawner::Spawner;
use moat_runtime::cgroup::Cgroup;
use moat_runtime::control::{self, Reply};
use moat_runtime::hooks;
use moat_runtime::proc::ProcId;

/// State shared by the sentry's threads.
pub struct Sentry {
    pub kernel: Arc<Kernel>,
    pub dispatch: Arc<Dispatch>,
    pub init: Pid,
    pub bundle: PathBuf,
    pub log: LogArgs,
    /// The init's channel until `start` takes it.
    pub init_chan: Mutex<Option<OwnedFd>>,
    /// Held while a start request is answered: the sentry must not exit
    /// (the init may be that quick) before `start` has its reply.
    pub starting: Mutex<()>,
    pub execs: Mutex<Execs>,
    /// Starts exec stages: the confined sentry cannot.
    pub spawner: Spawner,
    /// The container's gofer.
    pub gofer: Option<Pid>,
    /// The gofer's link: it serves the container's listeners.
    pub link: Arc<crate::gofer::Link>,
    /// The pod's other containers (CRI), each with its own init and gofer.
    pub members: Mutex<crate::pod::Members>,
}

/// Exec'd processes and the front ends waiting for them.
#[derive(Default)]
pub struct Execs {
    /// pid → the waiting front end's connection.
    pub waiting: HashMap<i32, Arc<OwnedFd>>,
    /// Exit codes of processes that ended before anyone waited.
    pub early: HashMap<i32, i32>,
    /// Helper processes (exec stages) whose exits mean nothing.
    pub helpers: HashSet<i32>,
}

impl Sentry {
    /// A child other than the init ended. (The exec table's lock is
    /// taken before the members': `pod::register` does the same.)
    pub fn child_exited(&self, pid: i32, code: i32) {
        let Ok(mut execs) = self.execs.lock() else {
            return;
        };
        if execs.helpers.remove(&pid) || crate::pod::init_exited(self, Pid::from_raw(pid), code) {
            return;
        }
        match execs.waiting.remove(&pid) {
            Some(conn) => {
                let _ = control::send(conn.as_raw_fd(), &Reply::Exited { code }, &[]);
            }
            None => {
                execs.early.insert(pid, code);
            }
        }
    }
}

/// `moat-sentry create`: returns the process exit code.
pub fn run(args: CreateArgs, log: LogArgs) -> i32 {
    // SAFETY: `create` passed this descriptor to us and nothing else owns it.
    let sync = unsafe { OwnedFd::from_raw_fd(args.sync_fd) };
    set_cloexec(sync.as_raw_fd());
    tracing::info!(id = %args.id, "creating sandbox");
    let sentry = match create(&args, log) {
        Ok(s) => s,
        Err(e) => {
            let message = format!("{e:#}");
            tracing::error!("{message}");
            let _ = control::send(sync.as_raw_fd(), &Reply::Error { message }, &[]);
            return 1;
        }
    };
    let created = Reply::Created {
        init_pid: sentry.init.as_raw(),
    };
    if control::send(sync.as_raw_fd(), &created, &[]).is_err() {
        // `create` is gone: nobody will ever start or delete this container.
        let _ = kill(sentry.init, Signal::SIGKILL);
    }
    drop(sync);
    supervise(&sentry)
}

fn create(args: &CreateArgs, log: LogArgs) -> Result<Arc<Sentry>> {
    let bundle = moat_runtime::bundle::load(&args.bundle)?;
    let spec = &bundle.spec;
    hooks::check_supported(spec)?;
    let filters = Filters::compile(spec)?;
    let dispatch = Arc::new(Dispatch::from_policy()?);
    let mem_limit = crate::pod::mem_limit(spec);
    let mut kernel = Kernel::new(
        spec.hostname().as_deref().unwrap_or("localhost"),
        spec.domainname().as_deref().unwrap_or(""),
        mem_limit,
        log.debug || log.strace,
    );
    // Joined now, limited once the init has built the rootfs (as runc
    // does): the device rules would refuse the sentry's own mknods.
    let cgroup = match &args.cgroup {
        Some(path) => Some(Cgroup::create(path, std::process::id())?),
        None => None,
    };
    let memcg_dir = cgroup.as_ref().map(|c| c.memory_dir());
    let mut cgroup = CgroupGuard(cgroup.map(|c| (c, args.cgroup.clone().unwrap_or_default())));
    let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    if let (Some((cg, path)), Some(r)) = (cgroup.0.as_ref(), resources) {
        cg.check(path, r)?;
    }
    // The spec's cpuset: the cgroup is limited only once the rootfs is built.
    kernel.cpus = crate::cpus::of_spec(spec);
    // SAFETY: `create` passed the console socket at this number for us alone.
    let console = args
        .console_fd
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    let (init, chan) = sandbox::spawn_init(InitCtx {
        spec,
        rootfs: &bundle.rootfs,
        filters: &filters,
        console,
        preserve_fds: args.preserve_fds,
        parent: None,
    })?;
    let reaper = KillOnError(Some(init));
    // Only now, so that the init never holds it: a descriptor of a host
    // directory open in the init is a way out (`-w /proc/self/fd/N`).
    kernel.memcg = memcg_dir.and_then(|dir| {
        crate::memcg::MemCgroup::open(&dir)
            .map_err(|e| tracing::warn!("no memory cgroup at {}: {e}", dir.display()))
            .ok()
    });
    let listener = match control::recv::<Report>(chan.as_raw_fd())? {
        Some((Report::Ready, fds)) => fds.into_iter().next().context("init sent no listener")?,
        Some((Report::Error { message }, _)) => bail!("{message}"),
        _ => bail!("the init exited while setting up the sandbox"),
    };
    if let (Some((cg, path)), Some(r)) = (cgroup.0.as_mut(), resources) {
        cg.update(path, r)?;
    }
    let state = hook_state(&args.id, &bundle, init, "created");
    hooks::run(spec, hooks::Point::Create, &state)?;
    release_stdio(args.preserve_fds);
    // After release_stdio: the spawner must not hold the caller's pipes.
    let spawner = Spawner::start(&log)?;
    let mut execs = Execs::default();
    execs.helpers.insert(spawner.pid);
    // Before confining: the gofer is exec'd, and joins the init's mounts.
    let gofer =
        crate::gofer::launch::start(init, &crate::gofer::launch::Options::of(spec, Some(&log)))
            .context("starting the gofer")?;
    execs.helpers.insert(gofer.pid.as_raw());
    kernel.log_line("gofer: moat-gofer performs the container's file calls as their callers");
    if filters.landlocked() {
        kernel.log_line("landlock: the workload reads and executes its rootfs, changes it only through the gofer");
    }
    kernel.log_line("Ready: init waiting for start");
    let kernel = Arc::new(kernel);
    let link = crate::gofer::Link::new(gofer.sock, kernel.clone(), dispatch.clone());
    // Same-uid processes (a container sharing the host's pid namespace)
    // must not ptrace the sentry or read its memory through /proc.
    nix::sys::prctl::set_dumpable(false)?;
    let control_sock = crate::control::bind_socket(&args.state_dir)?;
    // After the spawner's fork: it keeps the host's namespaces to start
    // exec stages from; the sentry's now name the sandbox's.
    sandbox::namespaces::sentry_joins(init)?;
    // Everything that needs privilege or execve is done: confine, then
    // start the threads (they inherit the allowlist and the reduced caps).
    crate::confine::confine(&args.state_dir)?;
    moat_runtime::signal::forward_to(ProcId::of(init.as_raw())?)?;
    link.spawn()?;
    link.serve(listener)?;
    let sentry = Arc::new(Sentry {
        kernel,
        dispatch,
        init,
        bundle: bundle.dir.clone(),
        log,
        init_chan: Mutex::new(Some(chan)),
        starting: Mutex::new(()),
        execs: Mutex::new(execs),
        spawner,
        gofer: Some(gofer.pid),
        link,
        members: Mutex::new(Default::default()),
    });
    crate::control::serve_on(control_sock, sentry.clone())?;
    std::mem::forget(reaper);
    std::mem::forget(cgroup);
    Ok(sentry)
}

/// Removes the cgroup if creation fails half-way.
struct CgroupGuard(Option<(Cgroup, String)>);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if let Some((cg, path)) = self.0.take() {
            if let Err(e) = cg.destroy(&path) {
                tracing::warn!("{e}");
            }
        }
    }
}

/// The state document hooks read: the init's pid, whose namespaces they
/// act on.
pub fn hook_state(
    id: &str,
    bundle: &moat_runtime::bundle::Bundle,
    init: Pid,
    status: &str,
) -> serde_json::Value {
    serde_json::json!({
        "ociVersion": oci_spec::runtime::VERSION,
        "id": id,
        "status": status,
        "pid": init.as_raw(),
        "bundle": bundle.dir,
        "annotations": bundle.spec.annotations().clone().unwrap_or_default(),
    })
}

/// Kills the init if creation fails half-way.
struct KillOnError(Option<Pid>);

impl Drop for KillOnError {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}

/// Reap children until the init exits; its status becomes ours. The
/// pod's other containers end with it.
fn supervise(s: &Sentry) -> i32 {
    let code = loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(status) => {
                let (Some(pid), Some(code)) =
                    (status.pid(), moat_runtime::signal::exit_code(status))
                else {
                    continue;
                };
                if pid == s.init {
                    break code;
                }
                s.child_exited(pid.as_raw(), code);
            }
            Err(Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!("waiting for the init: {e}");
                break 255;
            }
        }
    };
    tracing::debug!("init exited with {code}");
    drop(s.starting.lock());
    crate::pod::end_all(s);
    finish_execs(s);
    // The gofer holds the container's mount namespace: end it before the
    // front ends learn the container exited (and unmount its rootfs).
    if let Some(gofer) = s.gofer {
        let _ = kill(gofer, Signal::SIGKILL);
        let _ = waitpid(gofer, None);
    }
    code
}

/// The init is gone: end the exec'd processes too and tell their waiters.
fn finish_execs(s: &Sentry) {
    let pids: Vec<i32> = match s.execs.lock() {
        Ok(e) => e.waiting.keys().copied().collect(),
        Err(_) => return,
    };
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    for _ in &pids {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(st) => {
                if let (Some(pid), Some(code)) = (st.pid(), moat_runtime::signal::exit_code(st)) {
                    s.child_exited(pid.as_raw(), code);
                }
            }
            Err(_) => break,
        }
    }
}

/// The init has the container's stdio now; the sentry must not keep the
/// caller's pipes open (it waits for EOF), nor the preserved descriptors.
fn release_stdio(preserve_fds: u32) {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let null = OwnedFd::from(null);
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors, which we own.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    for i in 0..preserve_fds as RawFd {
        // SAFETY: the preserved descriptors were the init's to inherit; the
        // sentry never uses them.
        unsafe { libc::close(3 + i) };
    }
}

/// A stage process's life (exec and member stages): take the channel the
/// sentry placed at `chan_fd`, run `stage` on it, and report its error on
/// the channel. Returns the process exit code.
pub fn run_stage(chan_fd: RawFd, stage: impl FnOnce(&OwnedFd) -> Result<()>) -> i32 {
    // SAFETY: the sentry placed our channel at this number for us alone.
    let chan = unsafe { OwnedFd::from_raw_fd(chan_fd) };
    set_cloexec(chan.as_raw_fd());
    match stage(&chan) {
        Ok(()) => 0,
        Err(e) => {
            let message = format!("{e:#}");
            tracing::error!("{message}");
            let _ = control::send(chan.as_raw_fd(), &Report::Error { message }, &[]);
            1
        }
    }
}

pub fn set_cloexec(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we own, changing only its flags.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
}
