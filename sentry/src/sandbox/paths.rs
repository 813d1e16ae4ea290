//! Resolving container paths without leaving the root file system.
//!
//! Mount destinations, masked and read-only paths come from the bundle and
//! may cross symlinks planted in the image. Every lookup goes through
//! `openat2(RESOLVE_IN_ROOT)`, so the kernel resolves `..` and symlinks as
//! if the rootfs were `/`, and the result is an `O_PATH` descriptor: the
//! operation then targets `/proc/self/fd/N`, never a re-walked path.

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// An `O_PATH` descriptor of the container's root directory.
pub struct Root {
    fd: OwnedFd,
}

/// What to create when the destination is missing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

fn how(flags: OFlag) -> OpenHow {
    OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
}

impl Root {
    pub fn open(path: &Path) -> Result<Root> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("opening rootfs {}", path.display()))?;
        Ok(Root { fd })
    }

    /// Open `p` (interpreted inside the root) as `O_PATH`, if it exists.
    pub fn lookup(&self, p: &Path) -> Result<Option<OwnedFd>, Errno> {
        match openat2(self.fd.as_fd(), relative(p).as_path(), how(OFlag::O_PATH)) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Open `p` inside the root, creating missing directories (and, for
    /// `Kind::File`, an empty final file) on the way.
    pub fn create(&self, p: &Path, kind: Kind) -> Result<OwnedFd> {
        if let Some(fd) = self
            .lookup(p)
            .with_context(|| format!("resolving {}", p.display()))?
        {
            return Ok(fd);
        }
        let rel = relative(p);
        let mut dir = self.lookup(Path::new("/"))?.context("rootfs vanished")?;
        let comps: Vec<_> = rel.components().collect();
        for (i, c) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            let name = c.as_os_str();
            let next = openat2(dir.as_fd(), name, how(OFlag::O_PATH));
            dir = match next {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    let parent = reopen_dir(&dir)?;
                    if last && kind == Kind::File {
                        let f = nix::fcntl::openat(
                            parent.as_fd(),
                            name,
                            OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                            Mode::from_bits_truncate(0o644),
                        )
                        .with_context(|| format!("creating {}", p.display()))?;
                        drop(f);
                    } else {
                        nix::sys::stat::mkdirat(
                            parent.as_fd(),
                            name,
                            Mode::from_bits_truncate(0o755),
                        )
                        .or_else(|e| if e == Errno::EEXIST { Ok(()) } else { Err(e) })
                        .with_context(|| format!("creating {}", p.display()))?;
                    }
                    openat2(dir.as_fd(), name, how(OFlag::O_PATH))
                        .with_context(|| format!("opening {}", p.display()))?
                }
                Err(e) => return Err(e).with_context(|| format!("resolving {}", p.display())),
            };
        }
        Ok(dir)
    }
}

/// Re-open an `O_PATH` directory descriptor for real use (mkdirat, openat).
fn reopen_dir(fd: &OwnedFd) -> Result<OwnedFd> {
    let path = proc_fd_path(fd);
    nix::fcntl::open(
        path.as_path(),
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("reopening a directory")
}

/// `/proc/self/fd/N`: the path that names exactly this descriptor's file.
pub fn proc_fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `p` without its root, `.` or `..` prefix games resolved by the kernel later.
fn relative(p: &Path) -> PathBuf {
    let rel: PathBuf = p
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}
