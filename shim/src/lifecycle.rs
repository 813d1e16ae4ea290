//! What the Task API's create, start, exec and delete do to a container:
//! stdio, rootfs mounts, the library calls, exits and events.

use containerd_shim::protos::api;
use containerd_shim::protos::protobuf::MessageField;
use containerd_shim::TtrpcResult;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::SystemTime;
use tokio::sync::oneshot;

use crate::container::{Container, Exit, Proc};
use crate::events::timestamp;
use crate::stdio;
use crate::task::{blocking, failed, not_found, status, TaskService};
use containerd_shim::protos::ttrpc;

impl TaskService {
    pub(crate) fn with<T>(
        &self,
        id: &str,
        exec_id: &str,
        f: impl FnOnce(&mut Container) -> Option<T>,
    ) -> TtrpcResult<T> {
        let mut map = self.table.containers.lock().map_err(failed)?;
        map.get_mut(id)
            .and_then(f)
            .ok_or_else(|| not_found(id, exec_id))
    }

    pub(crate) fn exit_rx(
        &self,
        id: &str,
        exec_id: &str,
    ) -> TtrpcResult<tokio::sync::watch::Receiver<Option<Exit>>> {
        self.with(id, exec_id, |c| c.proc(exec_id).map(|p| p.exit.subscribe()))
    }

    pub(crate) async fn start_init(&self, id: &str) -> TtrpcResult<i32> {
        let rt = self.table.rt.clone();
        let cid = id.to_string();
        blocking(move || rt.start(&cid)).await?;
        let pid = self.with(id, "", |c| {
            c.init.started = true;
            Some(c.init.pid)
        })?;
        self.events.started(id, pid).await;
        crate::oom::watch(self.table.clone(), self.events.clone(), id.to_string());
        Ok(pid)
    }

    pub(crate) async fn start_exec(&self, id: &str, exec_id: &str) -> TtrpcResult<i32> {
        let (spec, paths) = self.with(id, exec_id, |c| {
            let p = c.execs.get_mut(exec_id)?;
            Some((p.spec.take(), p.stdio.clone()))
        })?;
        let spec =
            spec.ok_or_else(|| status(ttrpc::Code::FAILED_PRECONDITION, "already started"))?;
        let bundle = self.with(id, "", |c| Some(c.bundle.clone()))?;
        let (console, opened) = stdio::prepare(&paths, &bundle, exec_id).map_err(failed)?;
        let rt = self.table.rt.clone();
        let (cid, sock) = (id.to_string(), console.as_ref().map(|c| c.path.clone()));
        let raw = opened.raw();
        let starting = tokio::task::spawn_blocking(move || {
            let r = rt.exec_start(&cid, &spec, raw, sock.as_deref());
            drop(opened);
            r
        });
        let (pty, drained) = receive_pty(console.as_ref(), &paths).await?;
        let execution = starting.await.map_err(failed)?.map_err(failed)?;
        let pid = execution.pid;
        let exit = self.with(id, exec_id, |c| {
            let p = c.execs.get_mut(exec_id)?;
            p.pid = pid;
            p.started = true;
            p.pty = pty;
            Some(p.exit.clone())
        })?;
        let (events, cid, eid) = (self.events.clone(), id.to_string(), exec_id.to_string());
        tokio::spawn(async move {
            let code = tokio::task::spawn_blocking(move || execution.wait())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(255);
            let at = SystemTime::now();
            crate::container::drain(drained).await;
            exit.send_replace(Some(Exit {
                code: code as u32,
                at,
            }));
            events.exited(&cid, &eid, pid, code as u32, at).await;
        });
        self.events.exec_started(id, exec_id, pid).await;
        Ok(pid)
    }

    pub(crate) async fn create_container(
        &self,
        id: &str,
        bundle: &Path,
        paths: stdio::Paths,
        mounted_rootfs: bool,
        config: &crate::options::Config,
    ) -> TtrpcResult<i32> {
        let (console, opened) = stdio::prepare(&paths, bundle, "init").map_err(failed)?;
        let mut rt = self.table.rt.clone();
        config.apply(&mut rt, id, bundle);
        if let Some(dir) = rt.log.as_deref().and_then(Path::parent) {
            std::fs::create_dir_all(dir).map_err(|e| failed(format!("{}: {e}", dir.display())))?;
        }
        let opts = moat_runtime::CreateOpts {
            bundle: bundle.to_path_buf(),
            pid_file: None,
            console_socket: console.as_ref().map(|c| c.path.clone()),
            preserve_fds: 0,
            stdio: Some(opened.raw()),
        };
        let cid = id.to_string();
        let creating = tokio::task::spawn_blocking(move || {
            let r = rt.create(&cid, &opts);
            drop(opened);
            r
        });
        let (pty, drained) = receive_pty(console.as_ref(), &paths).await?;
        let st = creating.await.map_err(failed)?.map_err(failed)?;
        let pid = st.pid().pid;
        let mut init = Proc::new(pid, paths, None);
        init.pty = pty;
        init.drained = drained;
        if let Some(exit) = self.table.take_early_exit(pid) {
            init.exit.send_replace(Some(exit));
        }
        self.table.containers.lock().map_err(failed)?.insert(
            id.to_string(),
            Container {
                bundle: bundle.to_path_buf(),
                init,
                execs: Default::default(),
                mounted_rootfs,
                oom_kills: 0,
                paused: false,
            },
        );
        self.watch_pod_member(id, pid).await?;
        self.events
            .created(id, &bundle.to_string_lossy(), pid)
            .await;
        Ok(pid)
    }

    /// A container held by its pod's sentry is not the shim's child: its
    /// exit comes from the sentry, and is handled as the reaper's are.
    async fn watch_pod_member(&self, id: &str, pid: i32) -> TtrpcResult<()> {
        let (rt, cid) = (self.table.rt.clone(), id.to_string());
        let Some(waiter) = blocking(move || rt.waiter(&cid)).await? else {
            return Ok(());
        };
        let (table, events) = (self.table.clone(), self.events.clone());
        tokio::spawn(async move {
            let code = tokio::task::spawn_blocking(move || waiter.wait())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(255);
            if let Some((id, exit)) = table.init_exited(pid, code).await {
                crate::oom::check(&table, &events, &id).await;
                events.exited(&id, "", pid, exit.code, exit.at).await;
            }
        });
        Ok(())
    }
}

/// With a `console` (a `-t` process): accept the sentry's pty master on
/// it, relay it to the FIFOs, and return the master (for ResizePty) and
/// the relay's "drained" signal.
async fn receive_pty(
    console: Option<&stdio::ConsoleSocket>,
    paths: &stdio::Paths,
) -> TtrpcResult<(Option<OwnedFd>, Option<oneshot::Receiver<()>>)> {
    let Some(console) = console else {
        return Ok((None, None));
    };
    let listener = console.try_clone_listener().map_err(failed)?;
    let master = tokio::task::spawn_blocking(move || stdio::ConsoleSocket::receive_on(&listener))
        .await
        .map_err(failed)?
        .map_err(failed)?;
    let pty = stdio::relay_pty(master, paths).map_err(failed)?;
    Ok((Some(pty.master), Some(pty.drained)))
}

pub fn proc_state(id: &str, exec_id: &str, c: &Container, p: &Proc) -> api::StateResponse {
    let exit = p.exited();
    let st = match (exit, p.started) {
        (Some(_), _) => api::Status::STOPPED,
        (None, true) if c.paused => api::Status::PAUSED,
        (None, true) => api::Status::RUNNING,
        (None, false) => api::Status::CREATED,
    };
    api::StateResponse {
        id: id.into(),
        exec_id: exec_id.into(),
        bundle: c.bundle.to_string_lossy().into_owned(),
        pid: p.pid as u32,
        status: st.into(),
        stdin: p.stdio.stdin.clone(),
        stdout: p.stdio.stdout.clone(),
        stderr: p.stdio.stderr.clone(),
        terminal: p.stdio.terminal,
        exit_status: exit.map_or(0, |e| e.code),
        exited_at: exit.map_or(MessageField::none(), |e| {
            MessageField::some(timestamp(e.at))
        }),
        ..Default::default()
    }
}

pub fn deleted(p: &Proc) -> api::DeleteResponse {
    let exit = p.exited().unwrap_or(Exit {
        code: 0,
        at: SystemTime::now(),
    });
    api::DeleteResponse {
        pid: p.pid as u32,
        exit_status: exit.code,
        exited_at: MessageField::some(timestamp(exit.at)),
        ..Default::default()
    }
}
