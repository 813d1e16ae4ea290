//! [`NativeFs`]: what the sentry's VFS mounts where it does not serve the
//! files yet (`/proc`, `/sys`, `/dev` and the container's other
//! non-bind mounts). Any lookup below it, any readlink or stat of it fails
//! with [`NATIVE`], which the handlers turn into "let the kernel run the
//! call" (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`): until the sentry has its
//! synthetic `/proc` (whose contents depend on the caller's pid
//! namespace, which the gofer is not in), these calls stay native.

use moat_vfs::{Attr, Backend, Errno, FileType, Node, Result};

/// Not an errno the kernel knows: "this path is the kernel's to resolve".
/// Never handed to a workload.
pub const NATIVE: Errno = Errno(1 << 20);

pub struct NativeFs;

const ROOT: Node = Node(0);

impl Backend for NativeFs {
    fn root(&self) -> Node {
        ROOT
    }

    fn lookup(&self, _dir: Node, _name: &[u8]) -> Result<(Node, Attr)> {
        Err(NATIVE)
    }

    fn stat(&self, node: Node) -> Result<Attr> {
        if node != ROOT {
            return Err(NATIVE);
        }
        // Only the walk sees this (search permission, "is a directory");
        // a stat of the mount point itself runs natively.
        Ok(Attr {
            kind: FileType::Dir,
            perm: 0o555,
            uid: 0,
            gid: 0,
            dev: 0,
            ino: 0,
            size: 0,
            magic: false,
            acl: None,
        })
    }

    fn readlink(&self, _node: Node) -> Result<Vec<u8>> {
        Err(NATIVE)
    }
}
