//! The seccomp user-notification ioctls (x86_64 numbers) and their structs.

use nix::errno::Errno;
use std::os::fd::RawFd;

/// `struct seccomp_data`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

/// `struct seccomp_notif`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Notif {
    pub id: u64,
    pub pid: u32,
    pub flags: u32,
    pub data: SeccompData,
}

/// `struct seccomp_notif_resp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NotifResp {
    pub id: u64,
    pub val: i64,
    pub error: i32,
    pub flags: u32,
}

/// `struct seccomp_notif_addfd`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct NotifAddfd {
    id: u64,
    flags: u32,
    srcfd: u32,
    newfd: u32,
    newfd_flags: u32,
}

/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`: let the kernel run the call.
pub const FLAG_CONTINUE: u32 = 1;

const RECV: libc::c_ulong = 0xc050_2100;
const SEND: libc::c_ulong = 0xc018_2101;
const ID_VALID: libc::c_ulong = 0x4008_2102;
const ADDFD: libc::c_ulong = 0x4018_2103;
const SET_FLAGS: libc::c_ulong = 0x4008_2104;
/// `SECCOMP_ADDFD_FLAG_SEND`: install the descriptor and answer the call
/// with its number, atomically (Linux 5.14).
const ADDFD_FLAG_SEND: u32 = 2;
/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`: wake the supervisor on the caller's CPU.
const FD_SYNC_WAKE_UP: u64 = 1;

const _: () = assert!(std::mem::size_of::<Notif>() == 0x50);
const _: () = assert!(std::mem::size_of::<NotifResp>() == 0x18);
const _: () = assert!(std::mem::size_of::<NotifAddfd>() == 0x18);

/// Receive one notification (blocks until one is pending).
pub fn recv(fd: RawFd) -> Result<Notif, Errno> {
    let mut n = Notif::default();
    // SAFETY: `n` is a zeroed `struct seccomp_notif` of the size the ioctl
    // number encodes; the kernel writes only inside it.
    let r = unsafe { libc::ioctl(fd, RECV, &mut n as *mut Notif) };
    Errno::result(r).map(|_| n)
}

/// Answer a notification.
pub fn send(fd: RawFd, resp: &NotifResp) -> Result<(), Errno> {
    // SAFETY: `resp` is a valid `struct seccomp_notif_resp` the kernel only reads.
    let r = unsafe { libc::ioctl(fd, SEND, resp as *const NotifResp) };
    Errno::result(r).map(drop)
}

/// Is the notification still pending (its caller alive and waiting)?
pub fn id_valid(fd: RawFd, id: u64) -> bool {
    // SAFETY: the kernel reads one u64 from the pointer.
    unsafe { libc::ioctl(fd, ID_VALID, &id as *const u64) == 0 }
}

/// Ask for synchronous wake-ups (Linux 6.6+); older kernels just refuse.
pub fn set_sync_wakeup(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: this ioctl takes its argument by value.
    let r = unsafe { libc::ioctl(fd, SET_FLAGS, FD_SYNC_WAKE_UP) };
    Errno::result(r).map(drop)
}

/// Install `src` in the caller of notification `id` as its lowest free
/// descriptor (`O_CLOEXEC` if `cloexec`) and answer the call with that
/// number, in one step: the descriptor exists in the caller only if the
/// call returned it. `ENOENT`: the caller is gone or was interrupted.
pub fn add_fd_and_send(fd: RawFd, id: u64, src: RawFd, cloexec: bool) -> Result<i32, Errno> {
    let req = NotifAddfd {
        id,
        flags: ADDFD_FLAG_SEND,
        srcfd: src as u32,
        newfd: 0,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: `req` is a valid `struct seccomp_notif_addfd` the kernel
    // only reads; `src` is borrowed for the duration of the call.
    let r = unsafe { libc::ioctl(fd, ADDFD, &req as *const NotifAddfd) };
    Errno::result(r)
}
