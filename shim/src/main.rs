//! containerd-shim-moat-v1: moat behind containerd's Task API, registered
//! as `runtime_type = "io.containerd.moat.v1"`.
//!
//! One shim process serves a pod (containers carrying the same CRI
//! sandbox id) or a lone container. It drives containers through
//! moat-runtime, the lifecycle library the `moat` CLI uses: each container
//! is a sentry, which is the task's pid; exec'd processes are the sentry's
//! children, reported through the library's exec handle.

mod container;
mod events;
mod lifecycle;
mod metrics;
mod oom;
mod options;
mod service;
mod stdio;
mod task;

#[tokio::main]
async fn main() {
    containerd_shim::asynchronous::run::<service::Service>("io.containerd.moat.v1", None).await;
}
