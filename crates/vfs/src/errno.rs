//! Errors of the file-system core: an errno, as the workload will see it.
//!
//! Every failure of a walk, a backend or the mount table is one errno, so the
//! sentry can hand it back to the intercepted call unchanged (`-errno`).

use std::fmt;

/// A Linux errno value (positive, as in `errno.h`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: Errno = Errno(libc::$name);
            )*

            /// The symbolic name (`"ENOENT"`), if it is one this crate uses.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $(libc::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos!(
    EPERM,
    ENOENT,
    EIO,
    EBADF,
    EACCES,
    EEXIST,
    EXDEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENOSPC,
    EROFS,
    ENAMETOOLONG,
    ELOOP,
    ENOTEMPTY,
    EAGAIN,
    ENOSYS,
    ENXIO,
);

impl Errno {
    /// The errno of the calling thread's last failed libc call.
    pub fn last() -> Errno {
        Errno(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = std::io::Error::from_raw_os_error(self.0);
        write!(f, "{:?}: {}", self, msg)
    }
}

/// Result of the file-system core.
pub type Result<T> = std::result::Result<T, Errno>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_display() {
        assert_eq!(format!("{:?}", Errno::ELOOP), "ELOOP");
        assert_eq!(format!("{:?}", Errno(9999)), "Errno(9999)");
        assert!(Errno::ENOENT.to_string().starts_with("ENOENT: "));
    }
}
