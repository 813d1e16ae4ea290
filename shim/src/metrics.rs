//! Task stats in containerd's cgroup v1 `Metrics` type (what `ctr task
//! metrics` and the CRI plugin decode), from moat-runtime's runc-style stats.

use containerd_shim::protos::cgroups::metrics::{
    CPUStat, CPUUsage, MemoryEntry, MemoryStat, Metrics, PidsStat, Throttle,
};
use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::{Message, MessageField};
use serde_json::Value;

const TYPE_URL: &str = "io.containerd.cgroups.v1.Metrics";

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn entry(v: &Value) -> MemoryEntry {
    MemoryEntry {
        limit: n(&v["limit"]),
        usage: n(&v["usage"]),
        max: n(&v["max"]),
        failcnt: n(&v["failcnt"]),
        ..Default::default()
    }
}

/// `stats` is [`moat_runtime::Runtime::stats`]'s document.
pub fn from_stats(stats: &Value) -> Metrics {
    let cpu = &stats["cpu"];
    let mem = &stats["memory"];
    let per_cpu = cpu["usage"]["percpu"]
        .as_array()
        .map(|a| a.iter().map(n).collect())
        .unwrap_or_default();
    Metrics {
        cpu: MessageField::some(CPUStat {
            usage: MessageField::some(CPUUsage {
                total: n(&cpu["usage"]["total"]),
                kernel: n(&cpu["usage"]["kernel"]),
                user: n(&cpu["usage"]["user"]),
                per_cpu,
                ..Default::default()
            }),
            throttling: MessageField::some(Throttle {
                periods: n(&cpu["throttling"]["periods"]),
                throttled_periods: n(&cpu["throttling"]["throttledPeriods"]),
                throttled_time: n(&cpu["throttling"]["throttledTime"]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        memory: MessageField::some(MemoryStat {
            cache: n(&mem["cache"]),
            rss: n(&mem["raw"]["rss"]),
            total_cache: n(&mem["cache"]),
            total_rss: n(&mem["raw"]["rss"]),
            usage: MessageField::some(entry(&mem["usage"])),
            swap: MessageField::some(entry(&mem["swap"])),
            ..Default::default()
        }),
        pids: MessageField::some(PidsStat {
            current: n(&stats["pids"]["current"]),
            limit: n(&stats["pids"]["limit"]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn to_any(m: &Metrics) -> Result<Any, String> {
    Ok(Any {
        type_url: TYPE_URL.into(),
        value: m.write_to_bytes().map_err(|e| e.to_string())?,
        ..Default::default()
    })
}
