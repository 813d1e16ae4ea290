//! POSIX access ACLs, as the gofer reports them with a file's attributes.
//!
//! The kernel keeps a file's access ACL in the `system.posix_acl_access`
//! xattr (`include/uapi/linux/posix_acl_xattr.h`): a little-endian `u32`
//! version (2), then entries of `u16` tag, `u16` permission bits and
//! `u32` id (a uid or gid for the named entries, `u32::MAX` otherwise),
//! sorted by tag then id. [`Acl::from_xattr`] reads that format; the
//! evaluation (`posix_acl_permission`) is the sentry's. An ACL holds at
//! most [`MAX_ACL_ENTRIES`] entries here: more are refused (`E2BIG` from
//! the gofer, an error when decoding), never cut short.

use crate::wire::{Reader, Writer};
use crate::ProtoError;

/// The most entries an [`Acl`] holds.
pub const MAX_ACL_ENTRIES: usize = 32;

/// The name of the xattr holding a file's access ACL.
pub const ACL_ACCESS_XATTR: &str = "system.posix_acl_access";
/// The name of the xattr holding a directory's default ACL.
pub const ACL_DEFAULT_XATTR: &str = "system.posix_acl_default";

/// Entry tags, as in `linux/posix_acl.h`.
pub const ACL_USER_OBJ: u8 = 0x01;
pub const ACL_USER: u8 = 0x02;
pub const ACL_GROUP_OBJ: u8 = 0x04;
pub const ACL_GROUP: u8 = 0x08;
pub const ACL_MASK: u8 = 0x10;
pub const ACL_OTHER: u8 = 0x20;

const XATTR_VERSION: u32 = 2;

/// One entry: a tag, `rwx` bits (0..=7) and, for `ACL_USER` and
/// `ACL_GROUP`, the uid or gid it names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AclEntry {
    pub tag: u8,
    pub perm: u8,
    pub id: u32,
}

/// An access ACL: up to [`MAX_ACL_ENTRIES`] entries in the kernel's
/// order, inline (so attributes carrying one stay `Copy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Acl {
    len: u8,
    entries: [AclEntry; MAX_ACL_ENTRIES],
}

impl Acl {
    /// An ACL of `entries`: at most [`MAX_ACL_ENTRIES`], known tags,
    /// permission bits within `rwx`.
    pub fn new(entries: &[AclEntry]) -> Result<Acl, ProtoError> {
        if entries.len() > MAX_ACL_ENTRIES {
            return Err(ProtoError::BadValue("ACL length"));
        }
        let mut acl = Acl::default();
        for (slot, e) in acl.entries.iter_mut().zip(entries) {
            let known = matches!(
                e.tag,
                ACL_USER_OBJ | ACL_USER | ACL_GROUP_OBJ | ACL_GROUP | ACL_MASK | ACL_OTHER
            );
            if !known || e.perm > 7 {
                return Err(ProtoError::BadValue("ACL entry"));
            }
            *slot = *e;
        }
        // At most MAX_ACL_ENTRIES (32), checked above.
        acl.len = entries.len() as u8;
        Ok(acl)
    }

    pub fn entries(&self) -> &[AclEntry] {
        &self.entries[..usize::from(self.len)]
    }

    /// Parse the kernel's `system.posix_acl_access` value.
    pub fn from_xattr(value: &[u8]) -> Result<Acl, ProtoError> {
        let (header, body) = value
            .split_first_chunk::<4>()
            .ok_or(ProtoError::Truncated)?;
        if u32::from_le_bytes(*header) != XATTR_VERSION {
            return Err(ProtoError::BadValue("ACL version"));
        }
        if body.len() % 8 != 0 {
            return Err(ProtoError::BadValue("ACL size"));
        }
        if body.len() / 8 > MAX_ACL_ENTRIES {
            return Err(ProtoError::BadValue("ACL length"));
        }
        let mut entries = [AclEntry::default(); MAX_ACL_ENTRIES];
        for (slot, raw) in entries.iter_mut().zip(body.chunks_exact(8)) {
            let tag = u16::from_le_bytes([raw[0], raw[1]]);
            let perm = u16::from_le_bytes([raw[2], raw[3]]);
            *slot = AclEntry {
                tag: u8::try_from(tag).map_err(|_| ProtoError::BadValue("ACL entry"))?,
                perm: u8::try_from(perm).map_err(|_| ProtoError::BadValue("ACL entry"))?,
                id: u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]),
            };
        }
        Acl::new(&entries[..body.len() / 8])
    }

    /// On the wire: a `u32` count, then per entry `u8` tag, `u8` bits,
    /// `u32` id.
    pub(crate) fn put(&self, w: &mut Writer) {
        w.u32(u32::from(self.len));
        for e in self.entries() {
            w.u8(e.tag);
            w.u8(e.perm);
            w.u32(e.id);
        }
    }

    pub(crate) fn get(r: &mut Reader) -> Result<Acl, ProtoError> {
        let n = r.u32()? as usize;
        if n > MAX_ACL_ENTRIES {
            return Err(ProtoError::BadValue("ACL length"));
        }
        let mut entries = [AclEntry::default(); MAX_ACL_ENTRIES];
        for slot in &mut entries[..n] {
            *slot = AclEntry {
                tag: r.u8()?,
                perm: r.u8()?,
                id: r.u32()?,
            };
        }
        Acl::new(&entries[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The xattr value of `entries` (tag, perm, id), as the kernel stores it.
    fn xattr(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut v = XATTR_VERSION.to_le_bytes().to_vec();
        for (tag, perm, id) in entries {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&perm.to_le_bytes());
            v.extend_from_slice(&id.to_le_bytes());
        }
        v
    }

    #[test]
    fn reads_the_kernels_format() {
        let none = u32::MAX;
        let v = xattr(&[
            (1, 6, none),
            (2, 4, 1000),
            (4, 4, none),
            (0x10, 4, none),
            (0x20, 0, none),
        ]);
        let acl = Acl::from_xattr(&v).expect("valid ACL");
        assert_eq!(acl.entries().len(), 5);
        assert_eq!(
            acl.entries()[1],
            AclEntry {
                tag: ACL_USER,
                perm: 4,
                id: 1000
            }
        );
    }

    #[test]
    fn refuses_what_the_kernel_never_stores() {
        let ok = (1, 7, u32::MAX);
        assert!(Acl::from_xattr(&[]).is_err());
        let mut v1 = xattr(&[ok]);
        v1[0] = 1;
        assert!(Acl::from_xattr(&v1).is_err(), "version 1");
        let mut short = xattr(&[ok]);
        short.pop();
        assert!(Acl::from_xattr(&short).is_err());
        assert!(Acl::from_xattr(&xattr(&[(3, 7, 0)])).is_err(), "tag");
        assert!(Acl::from_xattr(&xattr(&[(1, 8, 0)])).is_err(), "perm");
        let many = vec![(2, 7, 5); MAX_ACL_ENTRIES + 1];
        assert!(Acl::from_xattr(&xattr(&many)).is_err(), "too long");
        let most = vec![(2, 7, 5); MAX_ACL_ENTRIES];
        assert!(Acl::from_xattr(&xattr(&most)).is_ok());
    }
}
