//! The Task API (containerd's task v2 service) mapped onto the shim's
//! containers; the work is in `lifecycle` and moat-runtime.

use async_trait::async_trait;
use containerd_shim::asynchronous::ExitSignal;
use containerd_shim::protos::api;
use containerd_shim::protos::protobuf::MessageField;
use containerd_shim::protos::shim_async::Task;
use containerd_shim::protos::ttrpc::{self, r#async::TtrpcContext};
use containerd_shim::TtrpcResult;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use crate::container::{Proc, Table};
use crate::events::{timestamp, Events};
use crate::lifecycle::{deleted, proc_state};
use crate::service::unmount_rootfs;
use crate::{metrics, stdio};

pub struct TaskService {
    pub(crate) table: Arc<Table>,
    pub(crate) events: Arc<Events>,
    exit: Arc<ExitSignal>,
}

impl TaskService {
    pub fn new(table: Arc<Table>, events: Arc<Events>, exit: Arc<ExitSignal>) -> TaskService {
        TaskService {
            table,
            events,
            exit,
        }
    }
}

impl TaskService {
    /// Pause or resume the container `id` (its cgroup), then say so.
    async fn set_paused(&self, id: &str, paused: bool) -> TtrpcResult<api::Empty> {
        let rt = self.table.rt.clone();
        let cid = id.to_string();
        blocking(move || {
            if paused {
                rt.pause(&cid)
            } else {
                rt.resume(&cid)
            }
        })
        .await?;
        if let Ok(mut map) = self.table.containers.lock() {
            if let Some(c) = map.get_mut(id) {
                c.paused = paused;
            }
        }
        self.events.paused(id, paused).await;
        Ok(api::Empty::default())
    }
}

pub(crate) fn status(code: ttrpc::Code, msg: impl ToString) -> ttrpc::Error {
    ttrpc::Error::RpcStatus(ttrpc::get_status(code, msg))
}

pub(crate) fn failed(e: impl std::fmt::Display) -> ttrpc::Error {
    status(ttrpc::Code::UNKNOWN, e)
}

pub(crate) fn not_found(id: &str, exec_id: &str) -> ttrpc::Error {
    let what = if exec_id.is_empty() {
        format!("container {id}")
    } else {
        format!("exec {exec_id} of container {id}")
    };
    status(ttrpc::Code::NOT_FOUND, format!("{what} not found"))
}

/// Run blocking library work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> moat_runtime::Result<T> + Send + 'static,
) -> TtrpcResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(failed)?
        .map_err(failed)
}

#[async_trait]
impl Task for TaskService {
    async fn create(
        &self,
        _ctx: &TtrpcContext,
        req: api::CreateTaskRequest,
    ) -> TtrpcResult<api::CreateTaskResponse> {
        let bundle = PathBuf::from(&req.bundle);
        let rootfs = bundle.join("rootfs");
        for m in &req.rootfs {
            containerd_shim::mount::mount_rootfs(
                Some(m.type_.as_str()),
                Some(m.source.as_str()),
                &m.options,
                &rootfs,
            )
            .map_err(|e| failed(format!("mounting the rootfs: {e}")))?;
        }
        let config = crate::options::Config::from_request(req.options.as_ref())
            .map_err(|e| status(ttrpc::Code::INVALID_ARGUMENT, e))?;
        let paths = stdio::Paths::new(&req.stdin, &req.stdout, &req.stderr, req.terminal);
        match self
            .create_container(&req.id, &bundle, paths, !req.rootfs.is_empty(), &config)
            .await
        {
            Ok(pid) => Ok(api::CreateTaskResponse {
                pid: pid as u32,
                ..Default::default()
            }),
            Err(e) => {
                if !req.rootfs.is_empty() {
                    unmount_rootfs(&rootfs);
                }
                Err(e)
            }
        }
    }

    async fn start(
        &self,
        _ctx: &TtrpcContext,
        req: api::StartRequest,
    ) -> TtrpcResult<api::StartResponse> {
        let pid = if req.exec_id.is_empty() {
            self.start_init(&req.id).await?
        } else {
            self.start_exec(&req.id, &req.exec_id).await?
        };
        Ok(api::StartResponse {
            pid: pid as u32,
            ..Default::default()
        })
    }

    async fn state(
        &self,
        _ctx: &TtrpcContext,
        req: api::StateRequest,
    ) -> TtrpcResult<api::StateResponse> {
        self.with(&req.id, &req.exec_id, |c| {
            c.proc(&req.exec_id)
                .map(|p| proc_state(&req.id, &req.exec_id, c, p))
        })
    }

    async fn kill(&self, _ctx: &TtrpcContext, req: api::KillRequest) -> TtrpcResult<api::Empty> {
        let signal = nix::sys::signal::Signal::try_from(req.signal as i32).map_err(|e| {
            status(
                ttrpc::Code::INVALID_ARGUMENT,
                format!("signal {}: {e}", req.signal),
            )
        })?;
        let (pid, exited) = self.with(&req.id, &req.exec_id, |c| {
            c.proc(&req.exec_id).map(|p| (p.pid, p.exited()))
        })?;
        // containerd (CRI's task delete WithProcessKill) expects NotFound
        // for a process that has finished, as runc's shim answers.
        let finished = || status(ttrpc::Code::NOT_FOUND, "process already finished");
        if exited.is_some() {
            return Err(finished());
        }
        if !req.exec_id.is_empty() {
            if pid > 0 {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal)
                    .map_err(|_| finished())?;
            }
            return Ok(api::Empty::default());
        }
        let rt = self.table.rt.clone();
        let (id, all) = (req.id.clone(), req.all);
        let killed = tokio::task::spawn_blocking(move || rt.kill(&id, signal, all));
        match killed.await.map_err(failed)? {
            Err(moat_runtime::Error::WrongState { .. }) => Err(finished()),
            r => r.map(|_| api::Empty::default()).map_err(failed),
        }
    }

    async fn delete(
        &self,
        _ctx: &TtrpcContext,
        req: api::DeleteRequest,
    ) -> TtrpcResult<api::DeleteResponse> {
        if !req.exec_id.is_empty() {
            let p = self.with(&req.id, &req.exec_id, |c| c.execs.remove(&req.exec_id))?;
            return Ok(deleted(&p));
        }
        let rt = self.table.rt.clone();
        let id = req.id.clone();
        blocking(move || rt.delete(&id, true)).await?;
        let c = {
            let mut map = self.table.containers.lock().map_err(failed)?;
            map.remove(&req.id).ok_or_else(|| not_found(&req.id, ""))?
        };
        if c.mounted_rootfs {
            unmount_rootfs(&c.bundle.join("rootfs"));
        }
        let resp = deleted(&c.init);
        self.events
            .deleted(&req.id, c.init.pid, resp.exit_status, SystemTime::now())
            .await;
        Ok(resp)
    }

    async fn pids(
        &self,
        _ctx: &TtrpcContext,
        req: api::PidsRequest,
    ) -> TtrpcResult<api::PidsResponse> {
        let rt = self.table.rt.clone();
        let id = req.id.clone();
        let pids = blocking(move || rt.pids(&id)).await?;
        Ok(api::PidsResponse {
            processes: pids
                .into_iter()
                .map(|pid| api::ProcessInfo {
                    pid: pid as u32,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
    }

    async fn exec(
        &self,
        _ctx: &TtrpcContext,
        req: api::ExecProcessRequest,
    ) -> TtrpcResult<api::Empty> {
        let spec: oci_spec::runtime::Process = serde_json::from_slice(&req.spec.value)
            .map_err(|e| status(ttrpc::Code::INVALID_ARGUMENT, format!("exec spec: {e}")))?;
        let paths = stdio::Paths::new(&req.stdin, &req.stdout, &req.stderr, req.terminal);
        self.with(&req.id, "", |c| {
            if c.execs.contains_key(&req.exec_id) {
                return None;
            }
            c.execs
                .insert(req.exec_id.clone(), Proc::new(0, paths, Some(spec)));
            Some(())
        })
        .map_err(|_| {
            status(
                ttrpc::Code::ALREADY_EXISTS,
                format!(
                    "exec {} exists or container {} is unknown",
                    req.exec_id, req.id
                ),
            )
        })?;
        self.events.exec_added(&req.id, &req.exec_id).await;
        Ok(api::Empty::default())
    }

    async fn resize_pty(
        &self,
        _ctx: &TtrpcContext,
        req: api::ResizePtyRequest,
    ) -> TtrpcResult<api::Empty> {
        self.with(&req.id, &req.exec_id, |c| {
            let pty = c.proc(&req.exec_id)?.pty.as_ref()?;
            Some(stdio::resize(pty, req.width, req.height))
        })?
        .map_err(failed)?;
        Ok(api::Empty::default())
    }

    async fn close_io(
        &self,
        _ctx: &TtrpcContext,
        _req: api::CloseIORequest,
    ) -> TtrpcResult<api::Empty> {
        // The process holds its stdin FIFO itself; the shim keeps no copy.
        Ok(api::Empty::default())
    }

    async fn update(
        &self,
        _ctx: &TtrpcContext,
        req: api::UpdateTaskRequest,
    ) -> TtrpcResult<api::Empty> {
        let resources: oci_spec::runtime::LinuxResources =
            serde_json::from_slice(&req.resources.value)
                .map_err(|e| status(ttrpc::Code::INVALID_ARGUMENT, format!("resources: {e}")))?;
        let rt = self.table.rt.clone();
        let id = req.id.clone();
        blocking(move || rt.update(&id, &resources)).await?;
        Ok(api::Empty::default())
    }

    async fn pause(&self, _ctx: &TtrpcContext, req: api::PauseRequest) -> TtrpcResult<api::Empty> {
        self.set_paused(&req.id, true).await
    }

    async fn resume(
        &self,
        _ctx: &TtrpcContext,
        req: api::ResumeRequest,
    ) -> TtrpcResult<api::Empty> {
        self.set_paused(&req.id, false).await
    }

    async fn wait(
        &self,
        _ctx: &TtrpcContext,
        req: api::WaitRequest,
    ) -> TtrpcResult<api::WaitResponse> {
        let mut rx = self.exit_rx(&req.id, &req.exec_id)?;
        let exit = rx
            .wait_for(Option::is_some)
            .await
            .map_err(failed)?
            .ok_or_else(|| failed("no exit"))?;
        Ok(api::WaitResponse {
            exit_status: exit.code,
            exited_at: MessageField::some(timestamp(exit.at)),
            ..Default::default()
        })
    }

    async fn stats(
        &self,
        _ctx: &TtrpcContext,
        req: api::StatsRequest,
    ) -> TtrpcResult<api::StatsResponse> {
        let rt = self.table.rt.clone();
        let id = req.id.clone();
        let stats = blocking(move || rt.stats(&id)).await?;
        let any = metrics::to_any(&metrics::from_stats(&stats)).map_err(failed)?;
        Ok(api::StatsResponse {
            stats: MessageField::some(any),
            ..Default::default()
        })
    }

    async fn connect(
        &self,
        _ctx: &TtrpcContext,
        req: api::ConnectRequest,
    ) -> TtrpcResult<api::ConnectResponse> {
        let pid = self.with(&req.id, "", |c| Some(c.init.pid)).unwrap_or(0);
        Ok(api::ConnectResponse {
            shim_pid: std::process::id(),
            task_pid: pid as u32,
            version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        })
    }

    async fn shutdown(
        &self,
        _ctx: &TtrpcContext,
        _req: api::ShutdownRequest,
    ) -> TtrpcResult<api::Empty> {
        let empty = self.table.containers.lock().map_or(true, |m| m.is_empty());
        if empty {
            self.exit.signal();
        }
        Ok(api::Empty::default())
    }
}
