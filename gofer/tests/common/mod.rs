//! Starting a real moat-gofer on a temporary tree.

#![allow(dead_code)]

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use moat_goferproto::{Client, Name};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

/// The fd number the gofer gets its socket on.
const CHILD_FD: i32 = 3;

pub struct Gofer {
    pub child: Child,
    pub dir: tempfile::TempDir,
}

impl Drop for Gofer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn name(s: &str) -> Name {
    Name::try_from(s).expect("a valid test name")
}

/// A gofer serving a fresh temporary directory, and our end of its socket.
pub fn spawn_raw() -> (Gofer, OwnedFd) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair");
    let raw = theirs.as_raw_fd();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_moat-gofer"));
    cmd.arg("--root")
        .arg(dir.path())
        .arg("--fd")
        .arg(CHILD_FD.to_string());
    cmd.stdin(Stdio::null());
    // SAFETY: dup2 is async-signal-safe; it puts the socket at fd 3 in
    // the child only (the copy loses FD_CLOEXEC; the parent's keeps it,
    // so gofers started by concurrent tests do not inherit it).
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, CHILD_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn moat-gofer");
    drop(theirs);
    (Gofer { child, dir }, ours)
}

pub fn spawn() -> (Gofer, Client) {
    let (g, sock) = spawn_raw();
    let c = Client::new(sock).expect("handshake with the gofer");
    (g, c)
}
