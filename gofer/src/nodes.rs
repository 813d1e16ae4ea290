//! The gofer's table of nodes: every handle it gave out, the `O_PATH`
//! descriptor behind it, and where it was found (its parent directory's
//! descriptor and its name), which re-opening a non-directory needs.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use moat_goferproto::{Handle, Name, Stat, Time};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, FileStat};

use crate::acl::AclCache;
use crate::sys::{open_beneath, os};

/// The root directory's handle.
pub const ROOT: Handle = 1;

/// Handles one gofer may hold at once (each is a descriptor).
const MAX_NODES: usize = 1 << 16;

pub struct Node {
    pub fd: Rc<OwnedFd>,
    /// The directory it was found in and its name there (none for the root).
    pub parent: Option<(Rc<OwnedFd>, Name)>,
    /// Device and inode when it was found, to notice a swapped name.
    pub id: (u64, u64),
}

impl Node {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

pub struct Nodes {
    map: HashMap<Handle, Node>,
    next: Handle,
    /// The gofer's own uid: the owner of what it just created.
    uid: u32,
    acls: AclCache,
}

/// Attributes of the node `fd` holds (itself, even a symlink).
pub fn stat_fd(fd: BorrowedFd) -> Result<FileStat, Errno> {
    fstatat(
        fd,
        "",
        AtFlags::AT_EMPTY_PATH | AtFlags::AT_SYMLINK_NOFOLLOW,
    )
}

fn to_stat(s: &FileStat) -> Stat {
    let t = |sec: i64, nsec: i64| Time {
        sec,
        nsec: nsec.clamp(0, 999_999_999) as u32,
    };
    Stat {
        dev: s.st_dev,
        ino: s.st_ino,
        mode: s.st_mode,
        nlink: s.st_nlink,
        uid: s.st_uid,
        gid: s.st_gid,
        rdev: s.st_rdev,
        size: s.st_size.max(0) as u64,
        blksize: s.st_blksize.max(0) as u64,
        blocks: s.st_blocks.max(0) as u64,
        atime: t(s.st_atime, s.st_atime_nsec),
        mtime: t(s.st_mtime, s.st_mtime_nsec),
        ctime: t(s.st_ctime, s.st_ctime_nsec),
        acl: None,
        default_acl: false,
    }
}

impl Nodes {
    /// A table holding the root directory as [`ROOT`].
    /// `uid` is the gofer's effective uid.
    pub fn new(root: OwnedFd, uid: u32) -> Result<Nodes, Errno> {
        let st = stat_fd(root.as_fd())?;
        let mut n = Nodes {
            map: HashMap::new(),
            next: 1,
            uid,
            acls: AclCache::default(),
        };
        n.insert(Node {
            fd: Rc::new(root),
            parent: None,
            id: (st.st_dev, st.st_ino),
        })?;
        Ok(n)
    }

    /// The attributes of node `h`, `st` (its `fstat`), with its ACLs.
    pub fn stat_of(&mut self, h: Handle, st: &FileStat) -> Result<Stat, Errno> {
        let node = self.map.get(&h).ok_or(Errno::EBADF)?;
        let (acl, default_acl) = self.acls.of(node, st)?;
        Ok(Stat {
            acl,
            default_acl,
            ..to_stat(st)
        })
    }

    pub fn get(&self, h: Handle) -> Result<&Node, Errno> {
        self.map.get(&h).ok_or(Errno::EBADF)
    }

    /// The descriptor of directory handle `h` (any node: the kernel
    /// answers ENOTDIR for non-directories).
    pub fn dir(&self, h: Handle) -> Result<Rc<OwnedFd>, Errno> {
        Ok(self.get(h)?.fd.clone())
    }

    fn insert(&mut self, node: Node) -> Result<Handle, Errno> {
        if self.map.len() >= MAX_NODES {
            return Err(Errno::ENFILE);
        }
        let h = self.next;
        self.next += 1;
        self.map.insert(h, node);
        Ok(h)
    }

    /// Look `name` up in `dir` as an `O_PATH` node, not following it, and
    /// hand out a handle for it.
    pub fn walk(&mut self, dir: Handle, name: &Name) -> Result<(Handle, FileStat), Errno> {
        let parent = self.dir(dir)?;
        let fd = open_beneath(
            parent.as_fd(),
            os(name),
            OFlag::O_PATH | OFlag::O_NOFOLLOW,
            0,
        )?;
        let st = stat_fd(fd.as_fd())?;
        let node = Node {
            fd: Rc::new(fd),
            parent: Some((parent, name.clone())),
            id: (st.st_dev, st.st_ino),
        };
        Ok((self.insert(node)?, st))
    }

    /// A handle for the file `fd` is open on (a copy of a workload's
    /// descriptor the sentry passed): no parent, so it is never re-opened
    /// but as a directory.
    pub fn adopt(&mut self, fd: OwnedFd) -> Result<(Handle, FileStat), Errno> {
        let st = stat_fd(fd.as_fd())?;
        let node = Node {
            fd: Rc::new(fd),
            parent: None,
            id: (st.st_dev, st.st_ino),
        };
        Ok((self.insert(node)?, st))
    }

    /// Walk to what the gofer just created in `dir` (a file of type
    /// `ifmt`), checking that it still looks fresh: that type, the
    /// gofer's own uid, and one link unless a directory (which cannot be
    /// hard-linked; btrfs counts its links differently). Another file put
    /// in its place meanwhile is ESTALE and never handed a new owner.
    pub fn walk_fresh(
        &mut self,
        dir: Handle,
        name: &Name,
        ifmt: u32,
    ) -> Result<(Handle, FileStat), Errno> {
        let (h, st) = self.walk(dir, name)?;
        let links_ok = ifmt == libc::S_IFDIR || st.st_nlink == 1;
        if st.st_mode & libc::S_IFMT != ifmt || st.st_uid != self.uid || !links_ok {
            self.close(&[h]);
            return Err(Errno::ESTALE);
        }
        Ok((h, st))
    }

    /// Release handles; the root (handle 1) stays for the session.
    pub fn close(&mut self, handles: &[Handle]) {
        for h in handles.iter().filter(|&&h| h != ROOT) {
            self.map.remove(h);
        }
    }

    /// Open node `h` for I/O with `flags` (never following a symlink):
    /// a directory through `.`, anything else through its parent and
    /// name, checked to still be the same file.
    pub fn reopen(&self, h: Handle, flags: OFlag) -> Result<OwnedFd, Errno> {
        let node = self.get(h)?;
        let st = stat_fd(node.fd())?;
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            return open_beneath(node.fd(), std::ffi::OsStr::new("."), flags, 0);
        }
        let flags = match st.st_mode & libc::S_IFMT {
            libc::S_IFLNK => return Err(Errno::ELOOP),
            // Device files of an image are never opened: /dev is the sentry's.
            libc::S_IFCHR | libc::S_IFBLK => return Err(Errno::EACCES),
            // A fifo's open would block the gofer: the sentry waits instead.
            libc::S_IFIFO => flags | OFlag::O_NONBLOCK,
            _ => flags,
        };
        let Some((parent, name)) = &node.parent else {
            return Err(Errno::ENOTDIR);
        };
        let fd = open_beneath(parent.as_fd(), os(name), flags, 0)?;
        let now = stat_fd(fd.as_fd())?;
        if (now.st_dev, now.st_ino) != node.id {
            return Err(Errno::ESTALE);
        }
        Ok(fd)
    }
}
