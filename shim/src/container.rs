//! The containers one shim serves and their processes: the init (its pid
//! is the sentry's) and exec'd processes, with their exits.

use moat_runtime::Runtime;
use oci_spec::runtime::Process;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use std::time::SystemTime;
use tokio::sync::{oneshot, watch};

use crate::stdio;

#[derive(Debug, Clone, Copy)]
pub struct Exit {
    pub code: u32,
    pub at: SystemTime,
}

/// One process of a container: its init or an exec'd process.
pub struct Proc {
    /// 0 until started (exec'd processes).
    pub pid: i32,
    pub stdio: stdio::Paths,
    pub started: bool,
    pub exit: watch::Sender<Option<Exit>>,
    /// The pty master of a `-t` process, for ResizePty.
    pub pty: Option<OwnedFd>,
    /// Resolves when a `-t` process's output has all been relayed.
    pub drained: Option<oneshot::Receiver<()>>,
    /// An exec'd process's spec, until it starts.
    pub spec: Option<Process>,
}

impl Proc {
    pub fn new(pid: i32, stdio: stdio::Paths, spec: Option<Process>) -> Proc {
        Proc {
            pid,
            stdio,
            started: false,
            exit: watch::channel(None).0,
            pty: None,
            drained: None,
            spec,
        }
    }

    pub fn exited(&self) -> Option<Exit> {
        *self.exit.borrow()
    }
}

pub struct Container {
    pub bundle: PathBuf,
    pub init: Proc,
    pub execs: HashMap<String, Proc>,
    /// The rootfs mounts the shim made (from CreateTaskRequest.rootfs).
    pub mounted_rootfs: bool,
    /// OOM kills already reported as events.
    pub oom_kills: u64,
    /// Frozen by Pause, until Resume.
    pub paused: bool,
}

impl Container {
    pub fn proc(&self, exec_id: &str) -> Option<&Proc> {
        if exec_id.is_empty() {
            Some(&self.init)
        } else {
            self.execs.get(exec_id)
        }
    }
}

/// Every container of this shim, and init exits seen before their
/// container was recorded (a quick init may exit before Create returns).
pub struct Table {
    pub rt: Runtime,
    pub containers: Mutex<HashMap<String, Container>>,
    pub early_exits: Mutex<HashMap<i32, Exit>>,
}

impl Table {
    pub fn new(rt: Runtime) -> Table {
        Table {
            rt,
            containers: Mutex::new(HashMap::new()),
            early_exits: Mutex::new(HashMap::new()),
        }
    }

    /// A child of the shim exited: if it is a container's sentry, record
    /// the init's exit once its terminal output is relayed, and return
    /// (container id, exit).
    pub async fn init_exited(&self, pid: i32, code: i32) -> Option<(String, Exit)> {
        let exit = Exit {
            code: code as u32,
            at: SystemTime::now(),
        };
        let found = {
            let mut map = self.containers.lock().ok()?;
            map.iter_mut()
                .find(|(_, c)| c.init.pid == pid)
                .map(|(id, c)| (id.clone(), c.init.drained.take()))
        };
        let Some((id, drained)) = found else {
            if let Ok(mut early) = self.early_exits.lock() {
                early.insert(pid, exit);
            }
            return None;
        };
        drain(drained).await;
        let map = self.containers.lock().ok()?;
        map.get(&id)?.init.exit.send_replace(Some(exit));
        Some((id, exit))
    }

    /// An init exit that came before its container was recorded.
    pub fn take_early_exit(&self, pid: i32) -> Option<Exit> {
        self.early_exits.lock().ok()?.remove(&pid)
    }
}

/// How long an exit waits for its terminal output: a background process
/// may keep the pty open forever.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// Wait (bounded) until a `-t` process's output has reached its FIFO, so
/// that containerd, told of the exit, does not close IO before it arrives.
pub async fn drain(drained: Option<oneshot::Receiver<()>>) {
    if let Some(rx) = drained {
        let _ = tokio::time::timeout(DRAIN_LIMIT, rx).await;
    }
}
