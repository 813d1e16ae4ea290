//! `bind(2)`, `connect(2)` and `sendto(2)` of Unix sockets with a
//! file-system path,
//! checked, then allowed: the sentry walks the path as Linux's
//! `unix_bind_bsd`/`unix_find_bsd` do, answers their errors, and lets
//! the kernel run the call (`continue_natively`). Every other address
//! (AF_INET/6, netlink, abstract or unnamed Unix addresses) and every
//! descriptor that is not an AF_UNIX socket continues at once, before any
//! path is read.
//!
//! - `bind`: the parent walk of `filename_create` (`ENOENT`, `ENOTDIR`,
//!   `ELOOP`, a trailing slash `ENOENT`), an existing name (a symlink is
//!   not followed) is `EADDRINUSE` (the kernel's `EEXIST` turned so),
//!   then `EROFS` and `may_create` (write and search on the parent:
//!   `EACCES`). The socket file is made by the caller's kernel, so it is
//!   the caller's fsuid/fsgid and `0777 & ~umask`, as always.
//! - `connect`: the walk following symlinks, write permission on what it
//!   names (`EACCES`; a read-only mount is no `EROFS` here), then
//!   anything but a socket file is `ECONNREFUSED`.
//! - `sendto` with an address, on a datagram socket: the same lookup as
//!   `connect` (`unix_dgram_sendmsg` finds its peer with `unix_find_bsd`
//!   too). Stream and seqpacket sockets ignore or refuse the address
//!   without looking it up, so their calls continue at once. A `sendto`
//!   without an address (`send` on a connected socket) or with one of 16
//!   or 28 bytes (IPv4, IPv6) never reaches the sentry: the seccomp
//!   filter lets it through (`moat policy`).
//!
//! Why the kernel and not the gofer makes the call: the kernel records
//! the address as the caller wrote it (`getsockname`, `getpeername`, and
//! a server that unlinks its own address at exit rely on it), which a
//! gofer binding one name in a directory it holds cannot reproduce
//! without walking the caller's path itself; and a stream `connect`
//! made by the gofer would give the server the gofer's credentials as
//! the peer's (`SO_PEERCRED`: root), not the caller's. So Landlock keeps
//! `MAKE_SOCK` on the gofer's tree. `sendmsg` (and `sendmmsg`) with a path
//! address is not supervised: its address lies in the `msghdr`, which
//! the filter cannot read, and stopping every `sendmsg` of the workload
//! at the sentry to find the few with a path would cost each message a
//! round trip; the caller's kernel checks those alone.

use std::os::fd::{AsRawFd, OwnedFd};

use moat_vfs::WalkFlags;
use nix::errno::Errno;

use super::caller_fd;
use super::mutate::{with_entry, with_target, Answer};
use super::Call;
use crate::fs::perm::{permitted, W_OK};

/// `sizeof(struct sockaddr_un)`.
const SOCKADDR_UN: u64 = 110;
/// `offsetof(struct sockaddr_un, sun_path)`.
const SUN_PATH: usize = 2;

/// bind(fd, addr, addrlen)
pub fn bind(call: &mut Call) -> Result<i64, Errno> {
    let [fd, addr, len, ..] = call.args;
    let Some((path, _)) = unix_path(call, fd as i32, addr, len as i32) else {
        return native(call);
    };
    with_entry(call, libc::AT_FDCWD, &path, |_, files, e, status| {
        e.new_name(files, false).map_err(|e| match e {
            Errno::EEXIST => Errno::EADDRINUSE,
            e => e,
        })?;
        e.may_create(files, status)?;
        Ok(None)
    })
}

/// connect(fd, addr, addrlen)
pub fn connect(call: &mut Call) -> Result<i64, Errno> {
    let [fd, addr, len, ..] = call.args;
    let Some((path, _)) = unix_path(call, fd as i32, addr, len as i32) else {
        return native(call);
    };
    find_peer(call, &path)
}

/// sendto(fd, buf, len, flags, addr, addrlen)
pub fn sendto(call: &mut Call) -> Result<i64, Errno> {
    let [fd, _, _, _, addr, len] = call.args;
    match unix_path(call, fd as i32, addr, len as i32) {
        Some((path, sock)) if sock_opt(&sock, libc::SO_TYPE) == Some(libc::SOCK_DGRAM) => {
            find_peer(call, &path)
        }
        _ => native(call),
    }
}

/// `unix_find_bsd`: the socket file at `path`, writable by the caller.
fn find_peer(call: &mut Call, path: &[u8]) -> Result<i64, Errno> {
    let flags = WalkFlags::default();
    with_target(
        call,
        libc::AT_FDCWD,
        path,
        &flags,
        |_, _, t, status| -> Answer {
            // path_permission: the permission bits; a read-only mount is
            // not consulted (only a read-only superblock would be).
            permitted(&status.fs_creds(), &t.stat, W_OK, 0)?;
            if t.stat.kind() != libc::S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            Ok(None)
        },
    )
}

fn native(call: &mut Call) -> Result<i64, Errno> {
    call.continue_natively();
    Ok(0)
}

/// The path of an AF_UNIX path address given for the caller's AF_UNIX
/// socket `fd`, and a copy of the socket; `None` for anything the kernel
/// answers alone (other families, abstract and unnamed addresses, bad
/// lengths or pointers, bad descriptors, other sockets).
fn unix_path(call: &mut Call, fd: i32, addr: u64, len: i32) -> Option<(Vec<u8>, OwnedFd)> {
    let len = u64::try_from(len).ok()?;
    if len <= SUN_PATH as u64 || len > SOCKADDR_UN {
        return None;
    }
    let bytes = call.mem().ok()?.read(addr, len as usize).ok()?;
    if u16::from_ne_bytes([bytes[0], bytes[1]]) != libc::AF_UNIX as u16 {
        return None;
    }
    // unix_mkname_bsd: the path ends at the first NUL or at addrlen.
    let raw = &bytes[SUN_PATH..];
    let path = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
    if path.is_empty() {
        return None;
    }
    let sock = caller_fd::take(call, fd).ok()?;
    (sock_opt(&sock, libc::SO_DOMAIN)? == libc::AF_UNIX).then(|| (path.to_vec(), sock))
}

/// The `SOL_SOCKET` option `opt` (`SO_DOMAIN`, `SO_TYPE`) of the socket
/// `fd` (`None`: not a socket).
fn sock_opt(fd: &OwnedFd, opt: libc::c_int) -> Option<i32> {
    let mut v: libc::c_int = 0;
    let mut n = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `n` bytes into `v` and updates `n`.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut n,
        )
    };
    (r == 0).then_some(v)
}
