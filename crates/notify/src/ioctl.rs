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

impl Notif {
    /// The struct's 80 bytes, as the kernel wrote them (to pass it on).
    pub fn to_bytes(&self) -> [u8; 80] {
        let mut out = [0u8; 80];
        out[0..8].copy_from_slice(&self.id.to_le_bytes());
        out[8..12].copy_from_slice(&self.pid.to_le_bytes());
        out[12..16].copy_from_slice(&self.flags.to_le_bytes());
        out[16..20].copy_from_slice(&self.data.nr.to_le_bytes());
        out[20..24].copy_from_slice(&self.data.arch.to_le_bytes());
        out[24..32].copy_from_slice(&self.data.instruction_pointer.to_le_bytes());
        for (i, a) in self.data.args.iter().enumerate() {
            out[32 + i * 8..40 + i * 8].copy_from_slice(&a.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(b: &[u8; 80]) -> Notif {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
        let mut args = [0u64; 6];
        for (i, a) in args.iter_mut().enumerate() {
            *a = u64_at(32 + i * 8);
        }
        Notif {
            id: u64_at(0),
            pid: u32_at(8),
            flags: u32_at(12),
            data: SeccompData {
                nr: u32_at(16) as i32,
                arch: u32_at(20),
                instruction_pointer: u64_at(24),
                args,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notif_bytes_round_trip() {
        let n = Notif {
            id: 1 << 40 | 5,
            pid: 77,
            flags: 0,
            data: SeccompData {
                nr: 257,
                arch: 0xc000_003e,
                instruction_pointer: 0x7fff_0000,
                args: [1, 2, 3, u64::MAX, 5, 6],
            },
        };
        let m = Notif::from_bytes(&n.to_bytes());
        assert_eq!(
            (m.id, m.pid, m.data.nr, m.data.args),
            (n.id, n.pid, n.data.nr, n.data.args)
        );
    }
}
