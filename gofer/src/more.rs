//! The rest of the gofer's answers: file-system statistics, extended
//! attributes and path Unix sockets.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use moat_goferproto::{Handle, Name, Reply, Request, Response, SockType, Statfs};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::socket::{self, AddressFamily, SockFlag, UnixAddr};
use nix::sys::stat::fstatat;
use nix::unistd::{Gid, Uid};

use crate::nodes::{stat_fd, Nodes};
use crate::ops::with_fd;

/// The largest xattr value or name list a reply carries.
const XATTR_BUF: usize = moat_goferproto::MAX_XATTR_VALUE;
use crate::sys::{self, os, At};

/// The kernel's `struct statfs` on x86_64 (libc hides `f_flags`).
#[repr(C)]
#[derive(Default)]
struct KStatfs {
    f_type: i64,
    f_bsize: i64,
    f_blocks: u64,
    f_bfree: u64,
    f_bavail: u64,
    f_files: u64,
    f_ffree: u64,
    f_fsid: [i32; 2],
    f_namelen: i64,
    f_frsize: i64,
    f_flags: i64,
    f_spare: [i64; 4],
}

pub fn statfs(nodes: &Nodes, node: Handle) -> Result<Response, Errno> {
    let fd = nodes.get(node)?.fd();
    let mut s = KStatfs::default();
    // SAFETY: the kernel fills the struct statfs it is given, which
    // `KStatfs` lays out exactly.
    let r = unsafe { libc::syscall(libc::SYS_fstatfs, fd.as_raw_fd(), &mut s as *mut KStatfs) };
    Errno::result(r)?;
    Ok(Reply::Statfs(Statfs {
        fs_type: s.f_type as u64,
        bsize: s.f_bsize as u64,
        blocks: s.f_blocks,
        bfree: s.f_bfree,
        bavail: s.f_bavail,
        files: s.f_files,
        ffree: s.f_ffree,
        namelen: s.f_namelen as u64,
        frsize: s.f_frsize as u64,
        flags: s.f_flags as u64,
        fsid: u64::from(s.f_fsid[0] as u32) | u64::from(s.f_fsid[1] as u32) << 32,
    })
    .into())
}

/// What an xattr call acts on. The kernel refuses `O_PATH` descriptors
/// to the `*xattrat` calls, so a directory or regular file is opened
/// (checked to be the handle's file) and anything else (symlink, fifo,
/// socket, device) is named in its parent without following it.
enum XattrTarget {
    Open(OwnedFd),
    Entry(Rc<OwnedFd>, CString),
}

impl XattrTarget {
    fn new(nodes: &Nodes, node: Handle) -> Result<XattrTarget, Errno> {
        let n = nodes.get(node)?;
        let st = stat_fd(n.fd())?;
        let flags = match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => Some(OFlag::O_RDONLY | OFlag::O_DIRECTORY),
            libc::S_IFREG => Some(OFlag::O_RDONLY),
            _ => None,
        };
        if let (Some(_), None, false) =
            (flags, &n.parent, st.st_mode & libc::S_IFMT == libc::S_IFDIR)
        {
            // An adopted descriptor (no parent): the file is open already.
            let fd = n
                .fd()
                .try_clone_to_owned()
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
            return Ok(XattrTarget::Open(fd));
        }
        if let Some(flags) = flags {
            return Ok(XattrTarget::Open(nodes.reopen(node, flags)?));
        }
        let (parent, name) = n.parent.as_ref().ok_or(Errno::EBADF)?;
        Ok(XattrTarget::Entry(
            parent.clone(),
            sys::cstr(name.as_bytes())?,
        ))
    }

    fn at(&self) -> At<'_> {
        match self {
            XattrTarget::Open(fd) => At {
                fd: fd.as_fd(),
                path: c"",
                flags: libc::AT_EMPTY_PATH,
            },
            XattrTarget::Entry(dir, name) => At {
                fd: dir.as_fd(),
                path: name,
                flags: libc::AT_SYMLINK_NOFOLLOW,
            },
        }
    }
}

/// Xattrs and sockets (every request `ops` does not answer itself).
pub fn handle(nodes: &mut Nodes, req: Request) -> Result<Response, Errno> {
    use Request::*;
    match req {
        GetXattr { node, name } => {
            let mut buf = vec![0u8; XATTR_BUF];
            let t = XattrTarget::new(nodes, node)?;
            let n = sys::getxattr(&t.at(), &name, &mut buf).map_err(too_big)?;
            buf.truncate(n);
            Ok(Reply::Xattr { value: buf }.into())
        }
        SetXattr {
            node,
            name,
            value,
            flags,
        } => {
            sys::setxattr(&XattrTarget::new(nodes, node)?.at(), &name, &value, flags)?;
            Ok(Reply::Ok.into())
        }
        ListXattr { node } => {
            let mut buf = vec![0u8; XATTR_BUF];
            let t = XattrTarget::new(nodes, node)?;
            let n = sys::listxattr(&t.at(), &mut buf).map_err(too_big)?;
            buf.truncate(n);
            Ok(Reply::Xattr { value: buf }.into())
        }
        RemoveXattr { node, name } => {
            sys::removexattr(&XattrTarget::new(nodes, node)?.at(), &name)?;
            Ok(Reply::Ok.into())
        }
        Bind {
            dir,
            name,
            sock_type,
            mode,
            uid,
            gid,
        } => bind(nodes, dir, &name, sock_type, (mode, uid, gid)),
        Connect {
            dir,
            name,
            sock_type,
        } => connect(nodes, dir, &name, sock_type),
        _ => Err(Errno::ENOSYS),
    }
}

/// A value or list longer than a reply can carry.
fn too_big(e: Errno) -> Errno {
    if e == Errno::ERANGE {
        Errno::E2BIG
    } else {
        e
    }
}

fn unix_socket(t: SockType) -> Result<OwnedFd, Errno> {
    let ty = match t {
        SockType::Stream => socket::SockType::Stream,
        SockType::Dgram => socket::SockType::Datagram,
        SockType::SeqPacket => socket::SockType::SeqPacket,
    };
    socket::socket(
        AddressFamily::Unix,
        ty,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
}

/// Run `f` with the working directory at `dir` (sockaddr_un paths are
/// resolved from it), then back at the root.
fn in_dir<T>(nodes: &Nodes, dir: Handle, f: impl FnOnce() -> Result<T, Errno>) -> Result<T, Errno> {
    nix::unistd::fchdir(nodes.get(dir)?.fd())?;
    let r = f();
    let back = nodes
        .get(crate::nodes::ROOT)
        .and_then(|root| nix::unistd::fchdir(root.fd()));
    let v = r?;
    back?;
    Ok(v)
}

fn addr(name: &Name) -> Result<UnixAddr, Errno> {
    UnixAddr::new(os(name)).map_err(|_| Errno::ENAMETOOLONG)
}

/// `bind` creates the socket file, so it cannot follow a symlink.
fn bind(
    nodes: &mut Nodes,
    dir: Handle,
    name: &Name,
    t: SockType,
    (mode, uid, gid): (u32, u32, u32),
) -> Result<Response, Errno> {
    let sock = unix_socket(t)?;
    let a = addr(name)?;
    in_dir(nodes, dir, || socket::bind(sock.as_raw_fd(), &a))?;
    let (node, _) = nodes.walk_fresh(dir, name, libc::S_IFSOCK)?;
    let fd = nodes.get(node)?.fd();
    nix::unistd::fchownat(
        fd,
        "",
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::AT_EMPTY_PATH,
    )?;
    sys::chmod_node(fd, mode)?;
    let st = crate::nodes::stat_fd(fd)?;
    let stat = nodes
        .stat_of(node, &st)
        .inspect_err(|_| nodes.close(&[node]))?;
    Ok(with_fd(Reply::Node { node, stat }, sock))
}

/// `connect` follows a symlink in the last component, so the name must be
/// a socket file; a symlink swapped in between resolves inside the
/// gofer's root, which is all it can see.
fn connect(nodes: &mut Nodes, dir: Handle, name: &Name, t: SockType) -> Result<Response, Errno> {
    let d: BorrowedFd = nodes.get(dir)?.fd();
    let st = fstatat(d, os(name), AtFlags::AT_SYMLINK_NOFOLLOW)?;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFSOCK => {}
        libc::S_IFLNK => return Err(Errno::ELOOP),
        _ => return Err(Errno::ECONNREFUSED),
    }
    let sock = unix_socket(t)?;
    let a = addr(name)?;
    match in_dir(nodes, dir, || socket::connect(sock.as_raw_fd(), &a)) {
        Ok(()) | Err(Errno::EINPROGRESS) => Ok(with_fd(Reply::Opened, sock)),
        Err(e) => Err(e),
    }
}
