//! A CRI client for the Kubernetes-path tests: the second containerd that
//! `hack/cri.sh` starts, driven over its gRPC socket the way kubelet drives
//! it, with the runtime handler under test (`moat`, or `MOAT_CRI_HANDLER`).

use crate::{moat_bin, repo, run, text, unique};
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint, Uri};

pub const CRI_SOCK: &str = "/run/moat-cri/containerd.sock";
/// The CRI containerd's root and state directories (see hack/cri.sh).
pub const CRI_DIRS: [&str; 2] = ["/var/lib/moat-cri", "/run/moat-cri"];
/// Pods' cgroups go under `/<CGROUP_PARENT>/<pod>`.
pub const CGROUP_PARENT: &str = "moat-cri";
pub const BUSYBOX: &str = "docker.io/library/busybox:latest";
const CALL_LIMIT: Duration = Duration::from_secs(60);

/// The CRI runtime handler under test: `moat` unless `MOAT_CRI_HANDLER`
/// names another (e.g. `runc`, to check the tests against the reference).
pub fn handler() -> String {
    std::env::var("MOAT_CRI_HANDLER").unwrap_or_else(|_| "moat".into())
}

pub fn is_moat_handler() -> bool {
    handler().starts_with("moat")
}

/// Where the moat shim must be for containerd to find it.
pub fn shim_path() -> PathBuf {
    let bin = moat_bin();
    bin.parent()
        .unwrap_or(Path::new("/usr/local/bin"))
        .join("containerd-shim-moat-v1")
}

/// Start the CRI containerd (once per test binary) and fail loudly when the
/// moat handler is asked for but its shim is not installed.
fn setup() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if is_moat_handler() {
            let shim = shim_path();
            assert!(
                shim.exists(),
                "CRI handler {:?} needs {} (install it with hack/install.sh), \
                 or run with MOAT_CRI_HANDLER=runc",
                handler(),
                shim.display()
            );
        }
        let prefix = moat_bin().parent().map(Path::to_path_buf);
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("hack/cri.sh")).arg("start");
        if let Some(p) = prefix {
            cmd.env("MOAT_PREFIX", p);
        }
        let out = run(&mut cmd, Duration::from_secs(600));
        assert!(
            out.status.success(),
            "hack/cri.sh start failed: {}",
            text(&out.stderr)
        );
    });
}

/// One test at a time talks to the CRI containerd, so that a test may count
/// the mounts and processes the others would otherwise add.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connected CRI runtime service client.
pub struct Cri {
    rt: tokio::runtime::Runtime,
    client: RuntimeServiceClient<Channel>,
    /// Pods not yet finished (id, name): a test that panics half way
    /// leaves none running.
    open: Vec<(String, String)>,
    _serial: MutexGuard<'static, ()>,
}

impl Cri {
    pub fn connect() -> Cri {
        setup();
        let serial = serial();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
        let channel = rt
            .block_on(unix_channel(CRI_SOCK))
            .unwrap_or_else(|e| panic!("connecting to {CRI_SOCK}: {e}"));
        Cri {
            rt,
            client: RuntimeServiceClient::new(channel),
            open: Vec::new(),
            _serial: serial,
        }
    }

    /// Run one call with a time limit; a failed call fails the test with
    /// what containerd said.
    fn call<T, F, Fut>(&mut self, what: &str, f: F) -> T
    where
        F: FnOnce(RuntimeServiceClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        self.try_call(f).unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    fn try_call<T, F, Fut>(&mut self, f: F) -> Result<T, String>
    where
        F: FnOnce(RuntimeServiceClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let fut = f(self.client.clone());
        match self
            .rt
            .block_on(async { tokio::time::timeout(CALL_LIMIT, fut).await })
        {
            Ok(Ok(resp)) => Ok(resp.into_inner()),
            Ok(Err(status)) => Err(format!("{:?}: {}", status.code(), status.message())),
            Err(_) => Err(format!("no answer within {CALL_LIMIT:?}")),
        }
    }

    /// RunPodSandbox with the handler under test; the pod's cgroups go
    /// under `/moat-cri/<name>`.
    pub fn run_pod(&mut self) -> Pod {
        let name = unique("pod");
        let config = pod_config(&name);
        let req = RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: handler(),
        };
        let resp = self.call("RunPodSandbox", |mut c| async move {
            c.run_pod_sandbox(req).await
        });
        self.open.push((resp.pod_sandbox_id.clone(), name.clone()));
        Pod {
            id: resp.pod_sandbox_id,
            name,
            config,
            containers: Vec::new(),
        }
    }

    /// CreateContainer then StartContainer; returns the container's id.
    pub fn start_container(&mut self, pod: &mut Pod, config: ContainerConfig) -> String {
        let id = self.create_container(pod, config);
        let cid = id.clone();
        self.call("StartContainer", |mut c| async move {
            c.start_container(StartContainerRequest { container_id: cid })
                .await
        });
        id
    }

    pub fn create_container(&mut self, pod: &mut Pod, config: ContainerConfig) -> String {
        let req = CreateContainerRequest {
            pod_sandbox_id: pod.id.clone(),
            config: Some(config),
            sandbox_config: Some(pod.config.clone()),
        };
        let resp = self.call("CreateContainer", |mut c| async move {
            c.create_container(req).await
        });
        pod.containers.push(resp.container_id.clone());
        resp.container_id
    }

    pub fn exec_sync(&mut self, id: &str, cmd: &[&str]) -> ExecSyncResponse {
        let req = ExecSyncRequest {
            container_id: id.into(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: 30,
        };
        self.call("ExecSync", |mut c| async move { c.exec_sync(req).await })
    }

    pub fn container_status(&mut self, id: &str) -> ContainerStatus {
        let req = ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        };
        let resp = self.call("ContainerStatus", |mut c| async move {
            c.container_status(req).await
        });
        resp.status
            .unwrap_or_else(|| panic!("ContainerStatus of {id}: no status"))
    }

    /// Poll ContainerStatus until the container has exited; its exit code.
    pub fn wait_exit(&mut self, id: &str, limit: Duration) -> i32 {
        let start = std::time::Instant::now();
        loop {
            let st = self.container_status(id);
            if st.state == ContainerState::ContainerExited as i32 {
                return st.exit_code;
            }
            assert!(start.elapsed() < limit, "{id} still {:?}", st.state);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn container_stats(&mut self, id: &str) -> ContainerStats {
        let req = ContainerStatsRequest {
            container_id: id.into(),
        };
        let resp = self.call("ContainerStats", |mut c| async move {
            c.container_stats(req).await
        });
        resp.stats
            .unwrap_or_else(|| panic!("ContainerStats of {id}: no stats"))
    }

    /// StopPodSandbox then RemovePodSandbox, as kubelet does.
    pub fn remove_pod(&mut self, pod: &Pod) {
        let id = pod.id.clone();
        self.call("StopPodSandbox", |mut c| async move {
            c.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id })
                .await
        });
        let id = pod.id.clone();
        self.call("RemovePodSandbox", |mut c| async move {
            c.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
                .await
        });
    }

    /// Best-effort StopPodSandbox, RemovePodSandbox and removal of the
    /// pod's cgroup parent (kubelet's part), for the end of every test.
    pub fn finish(&mut self, pod: &Pod) {
        self.open.retain(|(id, _)| *id != pod.id);
        self.teardown(&pod.id, &pod.name);
    }

    fn teardown(&mut self, id: &str, name: &str) {
        let req = StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        };
        let _ = self.try_call(|mut c| async move { c.stop_pod_sandbox(req).await });
        let req = RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        };
        let _ = self.try_call(|mut c| async move { c.remove_pod_sandbox(req).await });
        for d in cgroup_dirs(name) {
            let _ = std::fs::remove_dir(d);
        }
    }
}

impl Drop for Cri {
    fn drop(&mut self) {
        for (id, name) in std::mem::take(&mut self.open) {
            self.teardown(&id, &name);
        }
    }
}

/// A pod created by a test; `Cri::finish` removes it.
pub struct Pod {
    pub id: String,
    pub name: String,
    pub config: PodSandboxConfig,
    pub containers: Vec<String>,
}

impl Pod {
    /// The pod's cgroup parent, relative to each controller's mount.
    pub fn cgroup_parent(&self) -> String {
        format!("{CGROUP_PARENT}/{}", self.name)
    }

    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        cgroup_dirs(&self.name)
    }

    /// The ids of the pod and its containers.
    pub fn ids(&self) -> Vec<String> {
        let mut ids = vec![self.id.clone()];
        ids.extend(self.containers.iter().cloned());
        ids
    }
}

/// The pod's parent cgroup directories, one per controller (kubelet's to
/// remove; the runtime removes only its containers' cgroups below them).
fn cgroup_dirs(pod_name: &str) -> Vec<PathBuf> {
    let parent = format!("{CGROUP_PARENT}/{pod_name}");
    let controllers = std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten();
    controllers
        .flatten()
        .map(|e| e.path().join(&parent))
        .filter(|d| d.is_dir())
        .collect()
}

fn pod_config(name: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: name.into(),
            namespace: "moat-test".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: format!("/{CGROUP_PARENT}/{name}"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Where containerd's shim API puts the socket of the shim started for
/// `id` by the CRI containerd: `/run/containerd/s/<sha256 of
/// "<address>/<namespace>/<id>">`, shared with the system containerd.
pub fn shim_socket(id: &str) -> PathBuf {
    let key = format!("{CRI_SOCK}/k8s.io/{id}");
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "printf %s \"$1\" | sha256sum", "sh", &key]);
    let out = run(&mut cmd, Duration::from_secs(10));
    let hex = text(&out.stdout);
    let hex = hex.split_whitespace().next().unwrap_or_default();
    assert_eq!(hex.len(), 64, "sha256sum: {}", text(&out.stderr));
    Path::new("/run/containerd/s").join(hex)
}

/// A busybox container named `name` running `args`.
pub fn busybox(name: &str, args: &[&str]) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: BUSYBOX.into(),
            ..Default::default()
        }),
        args: args.iter().map(|s| s.to_string()).collect(),
        linux: Some(LinuxContainerConfig::default()),
        ..Default::default()
    }
}

/// A tonic channel to a gRPC server on a Unix socket (the URI is unused).
async fn unix_channel(path: &'static str) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_static("http://[::1]:50051")
        .connect_with_connector(tower::service_fn(move |_: Uri| async move {
            let stream = tokio::net::UnixStream::connect(path).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }))
        .await
}
