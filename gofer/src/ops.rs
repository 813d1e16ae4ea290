//! The gofer's answers: one function per request, each acting on one
//! component relative to a node's descriptor and never following a
//! symlink.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;

use moat_goferproto::{
    Dirent, Handle, Handler, Name, NodeKind, Reply, Request, Response, SetAttr, SetTime, Stat,
};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::unistd::{Gid, Uid};

use crate::nodes::{stat_fd, Nodes, ROOT};
use crate::sys::{self, open_beneath, os};

/// Open flags a client may ask for; the gofer adds `O_CLOEXEC`.
/// `O_NOFOLLOW` is accepted so that a descriptor's status flags are what
/// its user asked for (symlinks are refused either way).
const OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DIRECTORY
    | libc::O_NOATIME
    | libc::O_SYNC
    | libc::O_DSYNC
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    | libc::O_NOFOLLOW;

pub struct Gofer {
    pub nodes: Nodes,
}

fn open_flags(flags: u32) -> Result<OFlag, Errno> {
    let f = flags as i32;
    if f & !OPEN_FLAGS != 0 || f & libc::O_ACCMODE == libc::O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    Ok(OFlag::from_bits_truncate(f))
}

/// The flags of an `Open`: [`open_flags`], also with access mode 3
/// (neither read nor write: ioctls only, as Linux's `open` allows).
fn reopen_flags(flags: u32) -> Result<OFlag, Errno> {
    open_flags(flags & !(libc::O_WRONLY as u32))?;
    Ok(OFlag::from_bits_truncate(flags as i32))
}

fn owner(uid: u32, gid: u32) -> (Option<Uid>, Option<Gid>) {
    (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
}

impl Handler for Gofer {
    fn root(&mut self) -> Result<(Handle, Stat), Errno> {
        let st = stat_fd(self.nodes.get(ROOT)?.fd())?;
        Ok((ROOT, self.nodes.stat_of(ROOT, &st)?))
    }

    fn handle_with_fd(&mut self, req: Request, fd: Option<OwnedFd>) -> Result<Response, Errno> {
        match (req, fd) {
            (Request::LinkFile { dir, name }, Some(file)) => {
                let d = self.nodes.dir(dir)?;
                nix::unistd::linkat(&file, "", d.as_fd(), os(&name), AtFlags::AT_EMPTY_PATH)?;
                Ok(Reply::Ok.into())
            }
            (Request::Adopt, Some(file)) => {
                let (node, st) = self.nodes.adopt(file)?;
                Ok(Reply::Node {
                    node,
                    stat: self.stat_or_close(node, &st)?,
                }
                .into())
            }
            (req, _) => self.handle(req),
        }
    }

    fn handle(&mut self, req: Request) -> Result<Response, Errno> {
        use Request::*;
        match req {
            Walk { dir, name } => Ok(Reply::Walked {
                node: self.nodes.walk(dir, &name)?.0,
            }
            .into()),
            WalkStat { dir, name } => self.walk_stat(dir, &name).map(Into::into),
            WalkPath { dir, names } => Ok(self.walk_path(dir, &names).into()),
            Stat { node } => {
                let st = stat_fd(self.nodes.get(node)?.fd())?;
                Ok(Reply::Stat(self.nodes.stat_of(node, &st)?).into())
            }
            Open { node, flags } if flags == libc::O_PATH as u32 => {
                // The node's own descriptor (inotify watches through it).
                let fd = (self.nodes.get(node)?.fd().try_clone_to_owned())
                    .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
                Ok(Response {
                    reply: Reply::Opened,
                    fd: Some(fd),
                })
            }
            Open { node, flags } => {
                let fd = self.nodes.reopen(node, reopen_flags(flags)?)?;
                Ok(Response {
                    reply: Reply::Opened,
                    fd: Some(fd),
                })
            }
            Create {
                dir,
                name,
                flags,
                mode,
                uid,
                gid,
            } => self.create(dir, &name, flags, (mode, uid, gid)),
            Tmpfile {
                dir,
                flags,
                mode,
                uid,
                gid,
            } => self.tmpfile(dir, flags, (mode, uid, gid)),
            // Without its descriptor ([`Gofer::handle_with_fd`]).
            LinkFile { .. } | Adopt => Err(Errno::EBADF),
            Mkdir {
                dir,
                name,
                mode,
                uid,
                gid,
            } => self.mkdir(dir, &name, (mode, uid, gid)),
            Mknod {
                dir,
                name,
                kind,
                mode,
                uid,
                gid,
            } => self.mknod(dir, &name, kind, (mode, uid, gid)),
            Symlink {
                dir,
                name,
                target,
                uid,
                gid,
            } => self.symlink(dir, &name, &target, (uid, gid)),
            Link { node, dir, name } => self.link(node, dir, &name),
            Unlink {
                dir,
                name,
                dir_only,
            } => self.unlink(dir, &name, dir_only),
            Rename {
                old_dir,
                old_name,
                new_dir,
                new_name,
                flags,
            } => self.rename((old_dir, &old_name), (new_dir, &new_name), flags),
            Readlink { node } => Ok(Reply::Readlink {
                target: sys::readlink_node(self.nodes.get(node)?.fd())?,
            }
            .into()),
            SetStat { node, attr } => self.set_stat(node, &attr),
            Statfs { node } => crate::more::statfs(&self.nodes, node),
            Getdents { dir, offset, count } => self.getdents(dir, offset, count),
            Close { nodes } => {
                self.nodes.close(&nodes);
                Ok(Reply::Ok.into())
            }
            Version { .. } => Err(Errno::EPROTO),
            other => crate::more::handle(&mut self.nodes, other),
        }
    }
}

impl Gofer {
    fn walk_stat(&mut self, dir: Handle, name: &Name) -> Result<Reply, Errno> {
        let (node, st) = self.nodes.walk(dir, name)?;
        Ok(Reply::Node {
            node,
            stat: self.stat_or_close(node, &st)?,
        })
    }

    /// The attributes of the node just handed out as `node`, which is
    /// closed again if they cannot be read.
    fn stat_or_close(&mut self, node: Handle, st: &FileStat) -> Result<Stat, Errno> {
        self.nodes
            .stat_of(node, st)
            .inspect_err(|_| self.nodes.close(&[node]))
    }

    /// Each name in the directory the previous one named, stopping after
    /// a non-directory and at the first failure (its errno is reported).
    fn walk_path(&mut self, dir: Handle, names: &[Name]) -> Reply {
        let mut steps = Vec::with_capacity(names.len());
        let mut at = dir;
        let mut errno = 0;
        for name in names {
            let step = self
                .nodes
                .walk(at, name)
                .and_then(|(node, st)| Ok((node, self.stat_or_close(node, &st)?, st)));
            match step {
                Ok((node, stat, st)) => {
                    steps.push((node, stat));
                    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                        break;
                    }
                    at = node;
                }
                Err(e) => {
                    errno = e as i32;
                    break;
                }
            }
        }
        Reply::Steps { steps, errno }
    }

    /// Walk to what was just made (of type `ifmt`) and give it its owner.
    fn made(
        &mut self,
        dir: Handle,
        name: &Name,
        ifmt: u32,
        (uid, gid): (u32, u32),
    ) -> Result<Response, Errno> {
        let (node, _) = self.nodes.walk_fresh(dir, name, ifmt)?;
        let fd = self.nodes.get(node)?.fd();
        let (u, g) = owner(uid, gid);
        nix::unistd::fchownat(fd, "", u, g, AtFlags::AT_EMPTY_PATH)?;
        let st = stat_fd(fd)?;
        Ok(Reply::Node {
            node,
            stat: self.stat_or_close(node, &st)?,
        }
        .into())
    }

    fn create(
        &mut self,
        dir: Handle,
        name: &Name,
        flags: u32,
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<Response, Errno> {
        let flags = (open_flags(flags)? - OFlag::O_DIRECTORY) | OFlag::O_CREAT | OFlag::O_EXCL;
        let d = self.nodes.dir(dir)?;
        let file = open_beneath(d.as_fd(), os(name), flags, mode)?;
        let (u, g) = owner(uid, gid);
        nix::unistd::fchownat(&file, "", u, g, AtFlags::AT_EMPTY_PATH)?;
        if mode & 0o6000 != 0 {
            // chown cleared set-id bits.
            nix::sys::stat::fchmod(&file, Mode::from_bits_truncate(mode))?;
        }
        let (node, st) = self.nodes.walk(dir, name)?;
        let now = nix::sys::stat::fstat(&file)?;
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
            self.nodes.close(&[node]);
            return Err(Errno::ESTALE);
        }
        Ok(Response {
            reply: Reply::Node {
                node,
                stat: self.stat_or_close(node, &now)?,
            },
            fd: Some(file),
        })
    }

    /// `openat(dir, ".", O_TMPFILE|flags, mode)`, then the owner.
    fn tmpfile(
        &mut self,
        dir: Handle,
        flags: u32,
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<Response, Errno> {
        let excl = flags & libc::O_EXCL as u32;
        let flags = open_flags(flags & !excl)? | OFlag::from_bits_truncate(excl as i32);
        if flags.bits() & libc::O_ACCMODE == libc::O_RDONLY {
            return Err(Errno::EINVAL);
        }
        let d = self.nodes.dir(dir)?;
        let here = std::ffi::OsStr::new(".");
        let file = open_beneath(d.as_fd(), here, flags | OFlag::O_TMPFILE, mode)?;
        let (u, g) = owner(uid, gid);
        nix::unistd::fchownat(&file, "", u, g, AtFlags::AT_EMPTY_PATH)?;
        if mode & 0o6000 != 0 {
            // chown cleared set-id bits.
            nix::sys::stat::fchmod(&file, Mode::from_bits_truncate(mode))?;
        }
        Ok(Response {
            reply: Reply::Opened,
            fd: Some(file),
        })
    }

    fn mkdir(
        &mut self,
        dir: Handle,
        name: &Name,
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<Response, Errno> {
        let d = self.nodes.dir(dir)?;
        nix::sys::stat::mkdirat(d.as_fd(), os(name), Mode::from_bits_truncate(mode))?;
        self.made(dir, name, libc::S_IFDIR, (uid, gid))
    }

    fn mknod(
        &mut self,
        dir: Handle,
        name: &Name,
        kind: NodeKind,
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<Response, Errno> {
        let d = self.nodes.dir(dir)?;
        let kind = SFlag::from_bits_truncate(kind.ifmt());
        nix::sys::stat::mknodat(d.as_fd(), os(name), kind, Mode::from_bits_truncate(mode), 0)?;
        self.made(dir, name, kind.bits(), (uid, gid))
    }

    fn symlink(
        &mut self,
        dir: Handle,
        name: &Name,
        target: &[u8],
        ids: (u32, u32),
    ) -> Result<Response, Errno> {
        let d = self.nodes.dir(dir)?;
        let target = std::ffi::OsStr::from_bytes(target);
        nix::unistd::symlinkat(target, d.as_fd(), os(name))?;
        self.made(dir, name, libc::S_IFLNK, ids)
    }

    fn link(&mut self, node: Handle, dir: Handle, name: &Name) -> Result<Response, Errno> {
        let src = self.nodes.get(node)?.fd.clone();
        let d = self.nodes.dir(dir)?;
        nix::unistd::linkat(src.as_fd(), "", d.as_fd(), os(name), AtFlags::AT_EMPTY_PATH)?;
        self.walk_stat(dir, name).map(Into::into)
    }

    fn unlink(&mut self, dir: Handle, name: &Name, dir_only: bool) -> Result<Response, Errno> {
        let d = self.nodes.dir(dir)?;
        let how = if dir_only {
            nix::unistd::UnlinkatFlags::RemoveDir
        } else {
            nix::unistd::UnlinkatFlags::NoRemoveDir
        };
        nix::unistd::unlinkat(d.as_fd(), os(name), how)?;
        Ok(Reply::Ok.into())
    }

    fn rename(
        &mut self,
        old: (Handle, &Name),
        new: (Handle, &Name),
        flags: u32,
    ) -> Result<Response, Errno> {
        let (od, nd) = (self.nodes.dir(old.0)?, self.nodes.dir(new.0)?);
        sys::rename((od.as_fd(), os(old.1)), (nd.as_fd(), os(new.1)), flags)?;
        Ok(Reply::Ok.into())
    }

    fn set_stat(&mut self, node: Handle, a: &SetAttr) -> Result<Response, Errno> {
        let fd = self.nodes.get(node)?.fd.clone();
        if let Some(size) = a.size {
            let file = self.nodes.reopen(node, OFlag::O_WRONLY)?;
            nix::unistd::ftruncate(&file, i64::try_from(size).map_err(|_| Errno::EFBIG)?)?;
        }
        if a.uid.is_some() || a.gid.is_some() {
            let (u, g) = (a.uid.map(Uid::from_raw), a.gid.map(Gid::from_raw));
            nix::unistd::fchownat(fd.as_fd(), "", u, g, AtFlags::AT_EMPTY_PATH)?;
        }
        if let Some(mode) = a.mode {
            sys::chmod_node(fd.as_fd(), mode)?;
        }
        if a.atime.is_some() || a.mtime.is_some() {
            sys::utimes_node(fd.as_fd(), &[timespec(a.atime), timespec(a.mtime)])?;
        }
        Ok(Reply::Ok.into())
    }

    fn getdents(&mut self, dir: Handle, offset: u64, count: u32) -> Result<Response, Errno> {
        let d = self
            .nodes
            .reopen(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let off = i64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        nix::unistd::lseek(&d, off, nix::unistd::Whence::SeekSet)?;
        // Encoded entries are never longer than the kernel's records, so
        // 32 KiB of records fit one reply.
        let mut buf = vec![0u8; (count as usize).clamp(512, 32 * 1024)];
        loop {
            let n = sys::getdents64(d.as_fd(), &mut buf)?;
            let ents = parse_dirents(&buf[..n]);
            // A batch of only "." and ".." is not the end: read on.
            if n == 0 || !ents.is_empty() {
                return Ok(Reply::Dirents(ents).into());
            }
        }
    }
}

fn timespec(t: Option<SetTime>) -> libc::timespec {
    match t {
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        Some(SetTime::Now) => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
        Some(SetTime::At(t)) => libc::timespec {
            tv_sec: t.sec,
            tv_nsec: i64::from(t.nsec),
        },
    }
}

/// `linux_dirent64` records, skipping `.` and `..` (the sentry makes
/// those) and anything malformed.
fn parse_dirents(mut b: &[u8]) -> Vec<Dirent> {
    let mut out = Vec::new();
    // d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name.
    while b.len() >= 19 {
        let ino = u64::from_ne_bytes(b[0..8].try_into().unwrap_or_default());
        let off = u64::from_ne_bytes(b[8..16].try_into().unwrap_or_default());
        let reclen = usize::from(u16::from_ne_bytes([b[16], b[17]]));
        if reclen < 19 || reclen > b.len() {
            break;
        }
        let raw = &b[19..reclen];
        let name = &raw[..raw.iter().position(|&c| c == 0).unwrap_or(raw.len())];
        if let Ok(name) = Name::new(name) {
            out.push(Dirent {
                ino,
                off,
                kind: b[18],
                name,
            });
        }
        b = &b[reclen..];
    }
    out
}

/// A reply donating `fd`.
pub fn with_fd(reply: Reply, fd: OwnedFd) -> Response {
    Response {
        reply,
        fd: Some(fd),
    }
}
