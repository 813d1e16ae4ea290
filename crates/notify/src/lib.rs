//! What the sentry and the gofer share to answer a seccomp notification:
//! the notify ioctls ([`ioctl`]) and the caller's memory ([`mem`]).

pub mod ioctl;
pub mod mem;

pub use ioctl::{Notif, NotifResp, SeccompData};
