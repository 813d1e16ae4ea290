//! `/proc/loadavg` of the sandbox. The kernel writes the 1, 5 and 15
//! minute load averages of the whole host, then `running/total` of its
//! scheduling entities (threads) and the pid last allocated in the
//! reader's pid namespace. The host's load says nothing true about the
//! sandbox and the sentry keeps no load average of its own, so the
//! averages are `0.00`, as gVisor writes them; the counts are the
//! sandbox's threads (those in the caller's pid namespace) and the
//! highest pid among its processes stands for the last allocated one.

use super::pids::{ns_pid, pid_ns};

/// Threads of the caller's pid namespace: (running, total, highest pid).
#[derive(Debug, Default, PartialEq)]
struct Counts {
    running: u32,
    total: u32,
    last_pid: u32,
}

/// The text for a reader whose host pid is `caller`.
pub fn render(caller: u32) -> String {
    let mut c = count(caller).unwrap_or_default();
    // The reader waits on the sentry now, but runs as far as it can tell,
    // as the kernel counts it.
    c.running = c.running.max(1);
    format(&c)
}

fn format(c: &Counts) -> String {
    format!("0.00 0.00 0.00 {}/{} {}\n", c.running, c.total, c.last_pid)
}

/// Walks the sentry's `/proc` (the host's pid namespace) for the
/// processes sharing the caller's.
fn count(caller: u32) -> Option<Counts> {
    let ns = pid_ns(&caller.to_string())?;
    let mut c = Counts::default();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if pid_ns(pid) != Some(ns) {
            continue;
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            c.total += 1;
            if running(&stat) {
                c.running += 1;
            }
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if let Some(p) = ns_pid(&status) {
            c.last_pid = c.last_pid.max(p);
        }
    }
    Some(c)
}

/// The state field of a `stat` line (after the parenthesised name) is `R`.
fn running(stat: &str) -> bool {
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('R'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert!(running("12 (a) b) R 1 2"));
        assert!(!running("12 (sh) S 1 2"));
        let c = Counts {
            running: 1,
            total: 3,
            last_pid: 7,
        };
        assert_eq!(format(&c), "0.00 0.00 0.00 1/3 7\n");
    }

    #[test]
    fn this_process_counts_itself() {
        let c = count(std::process::id()).unwrap();
        assert!(c.total >= 1 && c.running >= 1, "{c:?}");
    }
}
