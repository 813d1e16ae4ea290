//! OOM kills as TaskOOM events. The container's cgroup counts them
//! (`oom_kill` in memory.oom_control or memory.events); the shim reads the
//! counter every half second while the init runs, and once more when the
//! init exits, so that an OOM-killed init is reported before its exit.

use std::sync::Arc;
use std::time::Duration;

use crate::container::Table;
use crate::events::Events;

const INTERVAL: Duration = Duration::from_millis(500);

/// Publish an event for each OOM kill not yet reported for container `id`.
pub async fn check(table: &Table, events: &Events, id: &str) {
    let Ok(Some(kills)) = table.rt.oom_kills(id) else {
        return;
    };
    let new = {
        let Ok(mut map) = table.containers.lock() else {
            return;
        };
        let Some(c) = map.get_mut(id) else {
            return;
        };
        let new = kills.saturating_sub(c.oom_kills);
        c.oom_kills = kills;
        new
    };
    if new > 0 {
        events.oom(id).await;
    }
}

/// Check container `id` until its init has exited.
pub fn watch(table: Arc<Table>, events: Arc<Events>, id: String) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(INTERVAL).await;
            let running = table
                .containers
                .lock()
                .ok()
                .and_then(|m| m.get(&id).map(|c| c.init.exited().is_none()));
            if running != Some(true) {
                break;
            }
            check(&table, &events, &id).await;
        }
    });
}
