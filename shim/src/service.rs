//! The shim process's own lifecycle: containerd's `start` action (one
//! shim per pod), its `delete` action (cleanup after a dead shim), and the
//! task service with its exit watcher.

use async_trait::async_trait;
use containerd_shim::asynchronous::monitor::monitor_subscribe;
use containerd_shim::asynchronous::{spawn, ExitSignal, Shim};
use containerd_shim::monitor::{Subject, Topic};
use containerd_shim::protos::protobuf::MessageField;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::{Config, DeleteResponse, Error, Flags, StartOpts};
use moat_runtime::Runtime;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use crate::container::Table;
use crate::events::{timestamp, Events};
use crate::task::TaskService;

/// CRI marks every container of a pod with its sandbox's id.
const SANDBOX_ID: &str = "io.kubernetes.cri.sandbox-id";

#[derive(Clone)]
pub struct Service {
    exit: Arc<ExitSignal>,
    namespace: String,
    id: String,
    /// The ttrpc socket this shim serves (`unix:///run/containerd/s/...`).
    socket: String,
}

/// moat's state root for a containerd namespace (runc's is /run/containerd/runc/<ns>).
fn runtime(namespace: &str) -> Runtime {
    Runtime::new(format!("/run/containerd/moat/{namespace}"))
}

#[async_trait]
impl Shim for Service {
    type T = TaskService;

    async fn new(_runtime_id: &str, args: &Flags, _config: &mut Config) -> Self {
        Service {
            exit: Arc::new(ExitSignal::default()),
            namespace: args.namespace.clone(),
            id: args.id.clone(),
            socket: args.socket.clone(),
        }
    }

    /// One shim per pod: containers of a pod share the sandbox's socket.
    async fn start_shim(&mut self, opts: StartOpts) -> Result<String, Error> {
        let grouping = pod_of(Path::new("config.json")).unwrap_or_else(|| opts.id.clone());
        let address = spawn(opts, &grouping, Vec::new()).await?;
        tokio::fs::write("address", &address)
            .await
            .map_err(|e| Error::Other(format!("writing the address file: {e}")))?;
        Ok(address)
    }

    /// containerd's cleanup after a shim died: remove what is left.
    async fn delete_shim(&mut self) -> Result<DeleteResponse, Error> {
        let rt = runtime(&self.namespace);
        let id = self.id.clone();
        let _ = tokio::task::spawn_blocking(move || rt.delete(&id, true)).await;
        unmount_rootfs(Path::new("rootfs"));
        Ok(DeleteResponse {
            exit_status: 137,
            exited_at: MessageField::some(timestamp(SystemTime::now())),
            ..Default::default()
        })
    }

    async fn wait(&mut self) {
        self.exit.wait().await;
        // The crate removes the socket after this returns, but finds it
        // through the `address` file in the shim's working directory: the
        // pod's first bundle, which containerd deletes as soon as Shutdown
        // is answered. Remove it here, by the name the shim was given.
        remove_socket(&self.socket);
    }

    async fn create_task_service(&self, publisher: RemotePublisher) -> TaskService {
        let table = Arc::new(Table::new(runtime(&self.namespace)));
        let events = Arc::new(Events::new(publisher, &self.namespace));
        watch_exits(table.clone(), events.clone()).await;
        TaskService::new(table, events, self.exit.clone())
    }
}

/// The pod a bundle's container belongs to, from its CRI annotation.
fn pod_of(config: &Path) -> Option<String> {
    let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(config).ok()?).ok()?;
    spec["annotations"][SANDBOX_ID].as_str().map(str::to_string)
}

/// Remove a shim socket named by its ttrpc address, if it is one.
fn remove_socket(address: &str) {
    let path = Path::new(address.strip_prefix("unix://").unwrap_or(address));
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    if is_socket {
        if let Err(e) = std::fs::remove_file(path) {
            log::warn!("removing the shim socket {}: {e}", path.display());
        }
    }
}

pub fn unmount_rootfs(rootfs: &Path) {
    if let Some(p) = rootfs.to_str() {
        if let Err(e) = containerd_shim::mount::umount_recursive(Some(p), libc::MNT_DETACH) {
            log::warn!("unmounting {p}: {e}");
        }
    }
}

/// Init exits come from the shim's reaper (the sentries are its children).
async fn watch_exits(table: Arc<Table>, events: Arc<Events>) {
    let mut sub = match monitor_subscribe(Topic::Pid).await {
        Ok(s) => s,
        Err(e) => {
            log::error!("subscribing to exits: {e}");
            return;
        }
    };
    tokio::spawn(async move {
        while let Some(e) = sub.rx.recv().await {
            if let Subject::Pid(pid) = e.subject {
                // Apart: an exit may wait for its terminal output.
                let (table, events) = (table.clone(), events.clone());
                tokio::spawn(async move {
                    if let Some((id, exit)) = table.init_exited(pid, e.exit_code).await {
                        crate::oom::check(&table, &events, &id).await;
                        events.exited(&id, "", pid, exit.code, exit.at).await;
                    }
                });
            }
        }
    });
}
