//! The structures that requests and replies carry: file attributes,
//! file-system statistics, directory entries, attribute changes.

use crate::acl::Acl;
use crate::wire::{Name, Reader, Writer};
use crate::ProtoError;

/// A node: a u64 the gofer hands out for a file it holds open (`O_PATH`),
/// valid until the client closes it.
pub type Handle = u64;

/// Seconds and nanoseconds (`0..1_000_000_000`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Time {
    pub sec: i64,
    pub nsec: u32,
}

impl Time {
    pub(crate) fn put(&self, w: &mut Writer) {
        w.i64(self.sec);
        w.u32(self.nsec);
    }

    pub(crate) fn get(r: &mut Reader) -> Result<Time, ProtoError> {
        let t = Time {
            sec: r.i64()?,
            nsec: r.u32()?,
        };
        if t.nsec >= 1_000_000_000 {
            return Err(ProtoError::BadValue("nanoseconds"));
        }
        Ok(t)
    }
}

/// A file's attributes, as `fstat` reports them, with its access ACL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    /// File type and permission bits (`st_mode`).
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    pub blocks: u64,
    pub atime: Time,
    pub mtime: Time,
    pub ctime: Time,
    /// The `system.posix_acl_access` ACL, if the file has one.
    pub acl: Option<Acl>,
    /// A directory with a default ACL (`system.posix_acl_default`).
    pub default_acl: bool,
}

impl Stat {
    pub(crate) fn put(&self, w: &mut Writer) {
        for v in [self.dev, self.ino] {
            w.u64(v);
        }
        w.u32(self.mode);
        w.u64(self.nlink);
        w.u32(self.uid);
        w.u32(self.gid);
        for v in [self.rdev, self.size, self.blksize, self.blocks] {
            w.u64(v);
        }
        for t in [self.atime, self.mtime, self.ctime] {
            t.put(w);
        }
        put_opt(w, self.acl.as_ref(), |w, a| a.put(w));
        w.bool(self.default_acl);
    }

    pub(crate) fn get(r: &mut Reader) -> Result<Stat, ProtoError> {
        Ok(Stat {
            dev: r.u64()?,
            ino: r.u64()?,
            mode: r.u32()?,
            nlink: r.u64()?,
            uid: r.u32()?,
            gid: r.u32()?,
            rdev: r.u64()?,
            size: r.u64()?,
            blksize: r.u64()?,
            blocks: r.u64()?,
            atime: Time::get(r)?,
            mtime: Time::get(r)?,
            ctime: Time::get(r)?,
            acl: get_opt(r, Acl::get)?,
            default_acl: r.bool()?,
        })
    }

    /// The file type bits (`mode & S_IFMT`).
    pub fn kind(&self) -> u32 {
        self.mode & libc::S_IFMT
    }
}

/// File-system statistics, as `fstatfs` reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statfs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
    pub frsize: u64,
    pub flags: u64,
    /// `f_fsid`, its two ints as the kernel lays them out (little endian).
    pub fsid: u64,
}

impl Statfs {
    fn fields(&self) -> [u64; 11] {
        [
            self.fs_type,
            self.bsize,
            self.blocks,
            self.bfree,
            self.bavail,
            self.files,
            self.ffree,
            self.namelen,
            self.frsize,
            self.flags,
            self.fsid,
        ]
    }

    pub(crate) fn put(&self, w: &mut Writer) {
        for v in self.fields() {
            w.u64(v);
        }
    }

    pub(crate) fn get(r: &mut Reader) -> Result<Statfs, ProtoError> {
        let mut f = [0u64; 11];
        for v in &mut f {
            *v = r.u64()?;
        }
        let [fs_type, bsize, blocks, bfree, bavail, files, ffree, namelen, frsize, flags, fsid] = f;
        Ok(Statfs {
            fs_type,
            bsize,
            blocks,
            bfree,
            bavail,
            files,
            ffree,
            namelen,
            frsize,
            flags,
            fsid,
        })
    }
}

/// One directory entry. `off` is the cookie to continue after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirent {
    pub ino: u64,
    pub off: u64,
    /// `DT_*` type.
    pub kind: u8,
    pub name: Name,
}

impl Dirent {
    pub(crate) fn put(&self, w: &mut Writer) {
        w.u64(self.ino);
        w.u64(self.off);
        w.u8(self.kind);
        w.name(&self.name);
    }

    pub(crate) fn get(r: &mut Reader) -> Result<Dirent, ProtoError> {
        Ok(Dirent {
            ino: r.u64()?,
            off: r.u64()?,
            kind: r.u8()?,
            name: r.name()?,
        })
    }

    /// Bytes this entry takes in a reply.
    pub fn encoded_len(&self) -> usize {
        8 + 8 + 1 + 1 + self.name.as_bytes().len()
    }
}

/// How a time is set by [`SetAttr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetTime {
    Now,
    At(Time),
}

/// Which attributes a set-stat request changes; `None` leaves one alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// Permission bits (`mode & 0o7777`).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<SetTime>,
    pub mtime: Option<SetTime>,
}

fn put_opt<T: Copy>(w: &mut Writer, v: Option<T>, f: impl Fn(&mut Writer, T)) {
    w.bool(v.is_some());
    if let Some(v) = v {
        f(w, v);
    }
}

fn get_opt<'a, T>(
    r: &mut Reader<'a>,
    f: impl Fn(&mut Reader<'a>) -> Result<T, ProtoError>,
) -> Result<Option<T>, ProtoError> {
    if r.bool()? {
        Ok(Some(f(r)?))
    } else {
        Ok(None)
    }
}

fn put_time(w: &mut Writer, t: SetTime) {
    match t {
        SetTime::Now => w.u8(0),
        SetTime::At(t) => {
            w.u8(1);
            t.put(w);
        }
    }
}

fn get_time(r: &mut Reader<'_>) -> Result<SetTime, ProtoError> {
    match r.u8()? {
        0 => Ok(SetTime::Now),
        1 => Ok(SetTime::At(Time::get(r)?)),
        _ => Err(ProtoError::BadValue("time")),
    }
}

impl SetAttr {
    pub(crate) fn put(&self, w: &mut Writer) {
        put_opt(w, self.mode, Writer::u32);
        put_opt(w, self.uid, Writer::u32);
        put_opt(w, self.gid, Writer::u32);
        put_opt(w, self.size, Writer::u64);
        put_opt(w, self.atime, put_time);
        put_opt(w, self.mtime, put_time);
    }

    pub(crate) fn get(r: &mut Reader) -> Result<SetAttr, ProtoError> {
        let a = SetAttr {
            mode: get_opt(r, Reader::u32)?,
            uid: get_opt(r, Reader::u32)?,
            gid: get_opt(r, Reader::u32)?,
            size: get_opt(r, Reader::u64)?,
            atime: get_opt(r, get_time)?,
            mtime: get_opt(r, get_time)?,
        };
        if a.mode.is_some_and(|m| m & !0o7777 != 0) {
            return Err(ProtoError::BadValue("mode"));
        }
        Ok(a)
    }
}

/// The special files `mknod` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Fifo,
    Socket,
}

impl NodeKind {
    pub(crate) fn put(self, w: &mut Writer) {
        w.u8(u8::from(self == NodeKind::Socket));
    }

    pub(crate) fn get(r: &mut Reader) -> Result<NodeKind, ProtoError> {
        match r.u8()? {
            0 => Ok(NodeKind::Fifo),
            1 => Ok(NodeKind::Socket),
            _ => Err(ProtoError::BadValue("node kind")),
        }
    }

    /// The `S_IFMT` bits.
    pub fn ifmt(self) -> u32 {
        match self {
            NodeKind::Fifo => libc::S_IFIFO,
            NodeKind::Socket => libc::S_IFSOCK,
        }
    }
}

/// The Unix socket types bind and connect create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    Stream,
    Dgram,
    SeqPacket,
}

impl SockType {
    pub(crate) fn put(self, w: &mut Writer) {
        w.u8(match self {
            SockType::Stream => 0,
            SockType::Dgram => 1,
            SockType::SeqPacket => 2,
        });
    }

    pub(crate) fn get(r: &mut Reader) -> Result<SockType, ProtoError> {
        match r.u8()? {
            0 => Ok(SockType::Stream),
            1 => Ok(SockType::Dgram),
            2 => Ok(SockType::SeqPacket),
            _ => Err(ProtoError::BadValue("socket type")),
        }
    }

    /// The `SOCK_*` value.
    pub fn raw(self) -> i32 {
        match self {
            SockType::Stream => libc::SOCK_STREAM,
            SockType::Dgram => libc::SOCK_DGRAM,
            SockType::SeqPacket => libc::SOCK_SEQPACKET,
        }
    }
}
