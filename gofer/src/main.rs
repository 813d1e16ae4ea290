//! moat-gofer: serves the gofer protocol (`moat-goferproto`) on an
//! inherited `SOCK_SEQPACKET` socket for the tree at `--root`, from
//! inside a mount namespace pivoted into that tree (or, with
//! `--mount-ns`, from inside a container's mount namespace, whose `/` it
//! serves: the tree the container's processes see), with five
//! capabilities and a seccomp allowlist. It exits when the peer closes
//! the socket, and dies with its parent (PR_SET_PDEATHSIG fires when the
//! *thread* that forked it exits: start it from a thread that lives as
//! long as the sentry). `MOAT_GOFER_LOG` sets the log filter (stderr,
//! default `warn`).

mod acl;
mod confine;
mod more;
mod nodes;
mod ops;
mod sys;

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "moat-gofer",
    version,
    about = "moat's file server for one container's rootfs"
)]
struct Args {
    /// The directory tree to serve (the container's rootfs).
    #[arg(
        long,
        required_unless_present = "mount_ns",
        conflicts_with = "mount_ns"
    )]
    root: Option<PathBuf>,
    /// Serve `/` of this mount namespace (`/proc/<init>/ns/mnt`): the
    /// gofer joins it, so it sees the container's rootfs, volumes and
    /// later mounts exactly as the workload does.
    #[arg(long)]
    mount_ns: Option<PathBuf>,
    /// The inherited, connected SOCK_SEQPACKET socket to serve on.
    #[arg(long)]
    fd: RawFd,
}

fn main() {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MOAT_GOFER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
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
    let uid = nix::unistd::geteuid().as_raw();
    let view = match (&args.root, &args.mount_ns) {
        (_, Some(ns)) => confine::View::MountNs(ns),
        (Some(root), None) => confine::View::Root(root),
        (None, None) => bail!("--root or --mount-ns is required"),
    };
    let root = confine::confine(view, sock.as_fd())?;
    tracing::info!(?view, "serving");
    let nodes = nodes::Nodes::new(root, uid).context("the root directory")?;
    serve(sock.as_fd(), nodes)
}

fn serve(sock: BorrowedFd, nodes: nodes::Nodes) -> Result<()> {
    let mut gofer = ops::Gofer { nodes };
    moat_goferproto::serve(sock, &mut gofer)?;
    tracing::info!("peer closed the socket");
    Ok(())
}
