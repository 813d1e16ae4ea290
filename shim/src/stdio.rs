//! The task's stdio: containerd's FIFOs (or /dev/null where none is
//! given) opened for the process, and a pty relayed to them for `-t`.

use std::fs::{File, OpenOptions};
use std::io::{Error, Result};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What containerd asked for one process.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub terminal: bool,
}

impl Paths {
    pub fn new(stdin: &str, stdout: &str, stderr: &str, terminal: bool) -> Paths {
        Paths {
            stdin: stdin.into(),
            stdout: stdout.into(),
            stderr: stderr.into(),
            terminal,
        }
    }
}

/// The process's stdio: with `terminal`, a console socket (the pty is
/// relayed to the FIFOs later) and /dev/null; otherwise the FIFOs.
pub fn prepare(p: &Paths, dir: &Path, name: &str) -> Result<(Option<ConsoleSocket>, Opened)> {
    if p.terminal {
        Ok((
            Some(ConsoleSocket::new(dir, name)?),
            open(&Paths::default())?,
        ))
    } else {
        Ok((None, open(p)?))
    }
}

/// Descriptors handed to the process (the shim keeps none of them).
pub struct Opened {
    pub stdin: File,
    pub stdout: File,
    pub stderr: File,
}

impl Opened {
    pub fn raw(&self) -> [RawFd; 3] {
        [
            self.stdin.as_raw_fd(),
            self.stdout.as_raw_fd(),
            self.stderr.as_raw_fd(),
        ]
    }
}

fn null(write: bool) -> Result<File> {
    OpenOptions::new()
        .read(!write)
        .write(write)
        .open("/dev/null")
}

/// Open the FIFOs. Output FIFOs are opened read-write so the open never
/// blocks; the reader still sees EOF once every process holding them ends.
/// stdin is opened without blocking, then made blocking for the process.
pub fn open(p: &Paths) -> Result<Opened> {
    let stdin = if p.stdin.is_empty() {
        null(false)?
    } else {
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p.stdin)?;
        set_blocking(&f)?;
        f
    };
    let out = |path: &str| -> Result<File> {
        if path.is_empty() {
            null(true)
        } else {
            OpenOptions::new().read(true).write(true).open(path)
        }
    };
    Ok(Opened {
        stdin,
        stdout: out(&p.stdout)?,
        stderr: out(&p.stderr)?,
    })
}

fn set_blocking(f: &File) -> Result<()> {
    // SAFETY: fcntl on a descriptor `f` owns, changing only its flags.
    let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
    if flags < 0
        // SAFETY: as above.
        || unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0
    {
        return Err(Error::last_os_error());
    }
    Ok(())
}

/// A console socket the sentry sends a pty master to.
pub struct ConsoleSocket {
    pub path: PathBuf,
    listener: std::os::unix::net::UnixListener,
}

impl ConsoleSocket {
    pub fn new(dir: &Path, name: &str) -> Result<ConsoleSocket> {
        let path = dir.join(format!("{name}.console.sock"));
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path)?;
        Ok(ConsoleSocket { path, listener })
    }

    pub fn try_clone_listener(&self) -> Result<std::os::unix::net::UnixListener> {
        self.listener.try_clone()
    }

    /// Wait for the pty master (blocking).
    pub fn receive_on(listener: &std::os::unix::net::UnixListener) -> Result<OwnedFd> {
        let (conn, _) = listener.accept()?;
        let mut buf = [0u8; 64];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(Error::from)?;
        for c in msg.cmsgs().map_err(Error::from)? {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
                if let Some(&fd) = fds.first() {
                    // SAFETY: SCM_RIGHTS handed us a new descriptor we own.
                    return Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) });
                }
            }
        }
        Err(Error::other("no pty master on the console socket"))
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Relay a pty master to the FIFOs on two threads: stdin → master,
/// master → stdout. Ends with the pty.
/// The relay's output side is done once the pty has no writer left and
/// everything written was copied: `drained` then resolves.
pub struct Pty {
    pub master: OwnedFd,
    pub drained: tokio::sync::oneshot::Receiver<()>,
}

pub fn relay_pty(master: OwnedFd, p: &Paths) -> Result<Pty> {
    let keep = master.try_clone()?;
    if !p.stdin.is_empty() {
        let mut from = OpenOptions::new().read(true).write(true).open(&p.stdin)?;
        let mut to = File::from(master.try_clone()?);
        std::thread::spawn(move || std::io::copy(&mut from, &mut to));
    }
    let mut to = if p.stdout.is_empty() {
        null(true)?
    } else {
        OpenOptions::new().read(true).write(true).open(&p.stdout)?
    };
    let mut from = File::from(master);
    let (done, drained) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        // Ends at EIO: every slave descriptor is closed and the data read.
        let _ = std::io::copy(&mut from, &mut to);
        let _ = done.send(());
    });
    Ok(Pty {
        master: keep,
        drained,
    })
}

/// TIOCSWINSZ on a pty master.
pub fn resize(master: &OwnedFd, width: u32, height: u32) -> Result<()> {
    let ws = libc::winsize {
        ws_row: height as u16,
        ws_col: width as u16,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize struct we own.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(Error::last_os_error());
    }
    Ok(())
}
