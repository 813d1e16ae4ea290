//! moat's file-system core: the sentry's view of a container's files.
//!
//! The workload's path-taking system calls (`openat`, `newfstatat`,
//! `mkdirat`, `unlinkat`, `readlinkat`, `execve`...) are intercepted, and the
//! sentry resolves their paths here, never in the host kernel. The host
//! files are served by the container's gofer, which only ever looks up one
//! component at a time and never follows a symlink; this crate supplies
//! the rest of what Linux's `namei` does:
//!
//! - [`Backend`] — the narrow interface a file server offers: root, lookup
//!   one name (no symlink following), stat, readlink. The gofer client, a
//!   tmpfs, synthetic `/proc` and [`memfs::MemFs`] implement it.
//! - [`MountTable`] ([`mount`]) — rootfs, OCI mounts, masked and read-only
//!   paths, with their flags.
//! - the walk ([`walk`]) — `.`/`..`, symlinks, magic links, mount
//!   crossings, trailing slashes, `O_CREAT`/`O_EXCL`/`O_NOFOLLOW`/
//!   `O_DIRECTORY`, `AT_*` flags, openat2's `RESOLVE_*` and parent walks,
//!   with Linux's errnos. The module doc lists the rules; tests compare
//!   them with the kernel's own `openat2` on random trees, with mounts.
//! - [`Creds`] ([`creds`]) — search permission on each directory walked,
//!   which the gofer (holding file-ownership capabilities) would not refuse.
//! - [`Dcache`] ([`dcache`]) — keeps repeated lookups off the gofer socket.
//!
//! # How the sentry uses it
//!
//! ```
//! use std::sync::Arc;
//! use moat_vfs::{memfs::MemFs, Creds, Last, MountFlags, MountSource, Resolved, Vfs, WalkFlags};
//!
//! # fn main() -> Result<(), moat_vfs::Errno> {
//! let rootfs = Arc::new(MemFs::new()); // the gofer client in the sentry
//! rootfs.put_file("etc/passwd")?;
//! rootfs.mkdir_all("proc")?;
//! let mut vfs = Vfs::new(rootfs, MountFlags::default(), 1024)?;
//! vfs.mount(b"/proc", MountSource::Tree { backend: Arc::new(MemFs::new()), root: None },
//!           MountFlags::from_options(&["nosuid", "nodev", "noexec"]))?;
//! let (root, cwd) = (vfs.root(), vfs.root()); // kept per process, as are dirfds'
//! let creds = Creds::user(1000, 1000, vec![]); // the calling thread's
//!
//! // openat(AT_FDCWD, "etc/../etc/passwd", O_RDONLY)
//! let flags = WalkFlags::open(libc::O_RDONLY, 0)?;
//! let r = vfs.resolve_as(&creds, &root, &cwd, b"etc/../etc/passwd", &flags)?;
//! let Resolved::Found(loc) = r else { unreachable!() };
//! assert_eq!(loc.path(), b"/etc/passwd");
//! // ... ask the gofer to open loc.node() of loc.mount()'s backend ...
//!
//! // openat(AT_FDCWD, "etc/new", O_WRONLY|O_CREAT|O_EXCL)
//! let flags = WalkFlags::open(libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0)?;
//! let r = vfs.resolve_as(&creds, &root, &cwd, b"etc/new", &flags)?;
//! let Resolved::Create { parent, name } = r else { unreachable!() };
//! // ... ask the gofer to create `name` in `parent`, then:
//! vfs.invalidate(&parent, &name)?;
//!
//! // unlinkat(AT_FDCWD, "etc/passwd", 0): all but the last component, then
//! // the handler's own checks and lookup of the last one.
//! let r = vfs.resolve_as(&creds, &root, &cwd, b"etc/passwd", &WalkFlags::parent())?;
//! let Resolved::Parent { parent, last: Last::Name(name), trailing: false } = r else { unreachable!() };
//! let victim = vfs.child(&parent, &name)?;
//! assert!(!victim.attr().is_dir());
//! // ... ask the gofer to unlink `name` in `parent`, then:
//! vfs.invalidate(&parent, &name)?;
//! # Ok(()) }
//! ```
//!
//! Locations keep the directories they came through, so `..` never needs
//! the server; errors are [`Errno`]s to hand back to the workload as they
//! are.

pub mod acl;
pub mod backend;
pub mod creds;
pub mod dcache;
pub mod errno;
pub mod flags;
pub mod location;
pub mod memfs;
pub mod mount;
mod vfs;
pub mod walk;

pub use acl::{class_permits, Owned};
pub use backend::{Attr, Backend, FileType, Node};
pub use creds::Creds;
pub use dcache::{Dcache, Stats, TreeId};
pub use errno::{Errno, Result};
pub use flags::*;
pub use location::{Location, Step};
pub use mount::{MaskedFs, Mount, MountFlags, MountId, MountTable};
pub use vfs::{MountSource, Vfs, DEFAULT_DCACHE_ENTRIES};
pub use walk::{Last, Resolved};
