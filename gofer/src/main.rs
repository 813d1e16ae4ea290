//! moat-gofer: a container's file service. It joins the container's mount
//! namespace, receives copies of the container's seccomp listeners from
//! the sentry on an inherited `SOCK_SEQPACKET` socket, and serves each
//! with a pool of worker threads that perform the workload's file calls
//! under each caller's own credentials (see `call` and `calls`); calls
//! that are not file calls go back to the sentry. It keeps the
//! capabilities a caller may wear (`--caps`, the container's bounding
//! set) and its own five, sets no_new_privs and runs under the policy
//! crate's `GOFER` allowlist (`moat policy`). It exits when the sentry
//! closes the socket, and dies with its parent (PR_SET_PDEATHSIG fires
//! when the *thread* that forked it exits: start it from a thread that
//! lives as long as the sentry). It appends to the sentry's log
//! (`--log`); without one, to stderr, filtered by `MOAT_GOFER_LOG`
//! (default `warn`).

mod call;
mod caller;
mod calls;
mod confine;
mod creds;
mod interrupt;
mod pool;
mod procobj;
mod resolve;
mod service;
mod sys;

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "moat-gofer",
    version,
    about = "moat's file service for one container"
)]
struct Args {
    /// The container's mount namespace (`/proc/<init>/ns/mnt`): the gofer
    /// joins it, so it sees the rootfs, volumes and later mounts exactly
    /// as the workload does.
    #[arg(long)]
    mount_ns: PathBuf,
    /// The inherited, connected SOCK_SEQPACKET socket to the sentry.
    #[arg(long)]
    fd: RawFd,
    /// The capabilities a caller may wear, as a hexadecimal mask (the
    /// container's bounding set).
    #[arg(long, default_value = "0", value_parser = parse_mask)]
    caps: u64,
    /// Append the log here (the sentry's log), as runc writes it.
    #[arg(long)]
    log: Option<PathBuf>,
    /// `json` or `text`.
    #[arg(long, default_value = "text")]
    log_format: String,
    /// Log debug messages, and every call served.
    #[arg(long)]
    debug: bool,
    /// Log every call served with its result (target `strace`).
    #[arg(long)]
    strace: bool,
}

fn parse_mask(s: &str) -> Result<u64, String> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| format!("{s}: {e}"))
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("moat-gofer: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<()> {
    if args.fd <= 2 {
        bail!("--fd {} is stdio, not a socket", args.fd);
    }
    // SAFETY: fcntl(F_GETFD) only asks whether the number is open.
    if unsafe { libc::fcntl(args.fd, libc::F_GETFD) } < 0 {
        bail!("--fd {} is not open", args.fd);
    }
    // SAFETY: the descriptor is open, was given to this process to serve
    // on, and nothing else here owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(args.fd) };
    nix::fcntl::fcntl(
        &sock,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .context("setting FD_CLOEXEC on the socket")?;
    // Nothing inherited but the socket and stdio; then the log, opened here.
    confine::close_others(args.fd);
    logging(args);
    interrupt::prepare().context("installing the interrupting signal's handler")?;
    let confined = confine::confine(&args.mount_ns, &sock, args.caps)?;
    let proc = confined
        .proc
        .try_clone()
        .context("a copy of the procfs descriptor")?;
    interrupt::start(proc).context("starting the interrupting thread")?;
    let strace = args.strace || args.debug;
    let svc = service::Service::new(sock, confined.proc, confined.root, confined.own, strace)?;
    tracing::debug!(ns = ?args.mount_ns, "gofer serving");
    service::run(Arc::new(svc))
}

fn logging(args: &Args) {
    if args.log.is_some() {
        let json = args.log_format == "json";
        if let Err(e) = moat_runtime::logging::init(args.log.as_deref(), json, args.debug) {
            eprintln!("moat-gofer: {e}");
        }
    } else {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("MOAT_GOFER_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .init();
    }
}
