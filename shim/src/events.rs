//! Task events published to containerd.

use containerd_shim::protos::events::task::{
    TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskExit, TaskOOM, TaskPaused,
    TaskResumed, TaskStart,
};
use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim::protos::protobuf::{MessageDyn, MessageField};
use containerd_shim::protos::topics;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::Context;
use std::time::SystemTime;

pub struct Events {
    publisher: RemotePublisher,
    namespace: String,
}

pub fn timestamp(t: SystemTime) -> Timestamp {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let mut ts = Timestamp::new();
    ts.seconds = d.as_secs() as i64;
    ts.nanos = d.subsec_nanos() as i32;
    ts
}

impl Events {
    pub fn new(publisher: RemotePublisher, namespace: &str) -> Events {
        Events {
            publisher,
            namespace: namespace.to_string(),
        }
    }

    async fn send(&self, topic: &str, event: Box<dyn MessageDyn>) {
        let ctx = Context::default();
        if let Err(e) = self
            .publisher
            .publish(ctx, topic, &self.namespace, event)
            .await
        {
            log::warn!("publishing {topic}: {e}");
        }
    }

    pub async fn created(&self, id: &str, bundle: &str, pid: i32) {
        let ev = TaskCreate {
            container_id: id.into(),
            bundle: bundle.into(),
            pid: pid as u32,
            ..Default::default()
        };
        self.send(topics::TASK_CREATE_EVENT_TOPIC, Box::new(ev))
            .await;
    }

    pub async fn started(&self, id: &str, pid: i32) {
        let ev = TaskStart {
            container_id: id.into(),
            pid: pid as u32,
            ..Default::default()
        };
        self.send(topics::TASK_START_EVENT_TOPIC, Box::new(ev))
            .await;
    }

    pub async fn exited(&self, id: &str, exec_id: &str, pid: i32, code: u32, at: SystemTime) {
        let ev = TaskExit {
            container_id: id.into(),
            id: if exec_id.is_empty() { id } else { exec_id }.into(),
            pid: pid as u32,
            exit_status: code,
            exited_at: MessageField::some(timestamp(at)),
            ..Default::default()
        };
        self.send(topics::TASK_EXIT_EVENT_TOPIC, Box::new(ev)).await;
    }

    pub async fn deleted(&self, id: &str, pid: i32, code: u32, at: SystemTime) {
        let ev = TaskDelete {
            container_id: id.into(),
            id: id.into(),
            pid: pid as u32,
            exit_status: code,
            exited_at: MessageField::some(timestamp(at)),
            ..Default::default()
        };
        self.send(topics::TASK_DELETE_EVENT_TOPIC, Box::new(ev))
            .await;
    }

    pub async fn exec_added(&self, id: &str, exec_id: &str) {
        let ev = TaskExecAdded {
            container_id: id.into(),
            exec_id: exec_id.into(),
            ..Default::default()
        };
        self.send(topics::TASK_EXEC_ADDED_EVENT_TOPIC, Box::new(ev))
            .await;
    }

    pub async fn exec_started(&self, id: &str, exec_id: &str, pid: i32) {
        let ev = TaskExecStarted {
            container_id: id.into(),
            exec_id: exec_id.into(),
            pid: pid as u32,
            ..Default::default()
        };
        self.send(topics::TASK_EXEC_STARTED_EVENT_TOPIC, Box::new(ev))
            .await;
    }

    /// `paused` true: TaskPaused, else TaskResumed.
    pub async fn paused(&self, id: &str, paused: bool) {
        if paused {
            let ev = TaskPaused {
                container_id: id.into(),
                ..Default::default()
            };
            self.send(topics::TASK_PAUSED_EVENT_TOPIC, Box::new(ev))
                .await;
        } else {
            let ev = TaskResumed {
                container_id: id.into(),
                ..Default::default()
            };
            self.send(topics::TASK_RESUMED_EVENT_TOPIC, Box::new(ev))
                .await;
        }
    }

    pub async fn oom(&self, id: &str) {
        let ev = TaskOOM {
            container_id: id.into(),
            ..Default::default()
        };
        self.send(topics::TASK_OOM_EVENT_TOPIC, Box::new(ev)).await;
    }
}
