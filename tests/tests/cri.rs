//! The Kubernetes path without kubelet: containerd's CRI API driven with
//! the runtime handler under test (`moat`; `MOAT_CRI_HANDLER=runc` checks
//! the same expectations against runc): pods, containers, exec, status,
//! stats, shared loopback, security contexts, removal and killed shims
//! leaving nothing. The first test runs `hack/cri.sh start`; the `moat`
//! handler needs containerd-shim-moat-v1 installed next to `moat`.

use k8s_cri::v1::{
    Capability, ContainerConfig, Int64Value, LinuxContainerSecurityContext, NamespaceMode,
    NamespaceOption, SecurityProfile,
};
use moat_tests::cri::*;
use moat_tests::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn stdout(r: &k8s_cri::v1::ExecSyncResponse) -> String {
    text(&r.stdout)
}

#[test]
fn exec_sync_dmesg_in_a_pod() {
    let mut cri = Cri::connect();
    let mut pod = cri.run_pod();
    let id = cri.start_container(&mut pod, busybox("app", &["sleep", "3600"]));
    let r = cri.exec_sync(&id, &["dmesg"]);
    cri.finish(&pod);
    if !is_moat_handler() {
        // runc: CRI's default capabilities lack CAP_SYSLOG and the host
        // refuses (exit 1); only the exec itself matters.
        return;
    }
    assert_eq!(r.exit_code, 0, "stderr: {}", text(&r.stderr));
    let log = stdout(&r);
    let first = log.lines().next().unwrap_or_default();
    assert!(first.contains("moat"), "first line: {first:?}");
    assert!(log.lines().count() >= 5, "{log}");
}

#[test]
fn exec_sync_reports_output_and_exit_code() {
    let mut cri = Cri::connect();
    let mut pod = cri.run_pod();
    let id = cri.start_container(&mut pod, busybox("app", &["sleep", "3600"]));
    let r = cri.exec_sync(&id, &["sh", "-c", "echo out; echo err >&2; exit 7"]);
    cri.finish(&pod);
    assert_eq!(stdout(&r), "out\n");
    assert_eq!(text(&r.stderr), "err\n");
    assert_eq!(r.exit_code, 7);
}

#[test]
fn container_status_reports_exit_code() {
    let mut cri = Cri::connect();
    let mut pod = cri.run_pod();
    let id = cri.start_container(&mut pod, busybox("fails", &["sh", "-c", "exit 3"]));
    let code = cri.wait_exit(&id, Duration::from_secs(30));
    let st = cri.container_status(&id);
    let ok = cri.start_container(&mut pod, busybox("succeeds", &["true"]));
    let ok_code = cri.wait_exit(&ok, Duration::from_secs(30));
    cri.finish(&pod);
    assert_eq!(code, 3);
    assert_eq!(st.reason, "Error");
    // containerd stamps started_at after Start returns, so a container this
    // quick may finish "before" it started; both are set, after creation.
    let stamped = st.started_at > 0 && st.finished_at > 0;
    assert!(stamped && st.finished_at >= st.created_at, "{st:?}");
    assert_eq!(ok_code, 0);
}

#[test]
fn container_stats_report_memory() {
    let mut cri = Cri::connect();
    let mut pod = cri.run_pod();
    // Hold a few MiB in a shell variable so that the number is clearly ours.
    let id = cri.start_container(
        &mut pod,
        busybox(
            "app",
            &[
                "sh",
                "-c",
                "x=$(head -c 4000000 /dev/zero | tr '\\0' a); sleep 3600",
            ],
        ),
    );
    std::thread::sleep(Duration::from_millis(500));
    let stats = cri.container_stats(&id);
    cri.finish(&pod);
    let mem = stats.memory.expect("memory stats");
    let working_set = mem.working_set_bytes.map(|v| v.value).unwrap_or(0);
    assert!(working_set > 0, "{mem:?}");
    let cpu = stats.cpu.expect("cpu stats");
    assert!(cpu.timestamp > 0, "{cpu:?}");
}

#[test]
fn containers_in_a_pod_share_loopback() {
    let mut cri = Cri::connect();
    let mut pod = cri.run_pod();
    cri.start_container(
        &mut pod,
        busybox(
            "server",
            &[
                "sh",
                "-c",
                "mkdir -p /www && echo hello-from-server > /www/index.html \
                 && exec httpd -f -p 127.0.0.1:8080 -h /www",
            ],
        ),
    );
    let client = cri.start_container(&mut pod, busybox("client", &["sleep", "3600"]));
    let r = cri.exec_sync(
        &client,
        &[
            "sh",
            "-c",
            "for i in $(seq 100); do wget -q -O - http://127.0.0.1:8080/ && exit 0; \
             sleep 0.1; done; exit 1",
        ],
    );
    let ifaces = cri.exec_sync(&client, &["ls", "/sys/class/net"]);
    cri.finish(&pod);
    assert_eq!(r.exit_code, 0, "stderr: {}", text(&r.stderr));
    assert_eq!(stdout(&r), "hello-from-server\n");
    // The loopback-only CNI config: the pod's netns holds only lo.
    assert_eq!(
        stdout(&ifaces).split_whitespace().collect::<Vec<_>>(),
        ["lo"]
    );
}

fn restricted(mut config: ContainerConfig) -> ContainerConfig {
    let linux = config.linux.get_or_insert_with(Default::default);
    linux.security_context = Some(LinuxContainerSecurityContext {
        run_as_user: Some(Int64Value { value: 1000 }),
        capabilities: Some(Capability {
            drop_capabilities: vec!["ALL".into()],
            ..Default::default()
        }),
        readonly_rootfs: true,
        no_new_privs: true,
        seccomp: Some(SecurityProfile {
            profile_type: k8s_cri::v1::security_profile::ProfileType::RuntimeDefault as i32,
            localhost_ref: String::new(),
        }),
        ..Default::default()
    });
    config
}

/// `Name:\tvalue` from /proc/self/status text.
fn status_field<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in {status}"))
}

#[test]
fn security_context_is_reflected_inside() {
    let mut cri = Cri::connect();
    let mut pod = cri.run_pod();
    let id = cri.start_container(&mut pod, restricted(busybox("app", &["sleep", "3600"])));
    let uid = cri.exec_sync(&id, &["id", "-u"]);
    let status = cri.exec_sync(&id, &["cat", "/proc/self/status"]);
    let touch = cri.exec_sync(&id, &["touch", "/moat-was-here"]);
    cri.finish(&pod);
    assert_eq!(text(&uid.stdout).trim(), "1000", "{}", text(&uid.stderr));
    let status = text(&status.stdout);
    assert_eq!(status_field(&status, "CapEff"), "0000000000000000");
    assert_eq!(status_field(&status, "NoNewPrivs"), "1");
    assert_eq!(status_field(&status, "Seccomp"), "2");
    assert_ne!(
        touch.exit_code, 0,
        "touch / succeeded on a read-only rootfs"
    );
    assert!(
        text(&touch.stderr).contains("Read-only file system"),
        "{}",
        text(&touch.stderr)
    );
}

/// Mount points under the CRI containerd's root and state directories.
fn cri_mounts() -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut mounts: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| CRI_DIRS.iter().any(|d| m.starts_with(d)))
        .map(str::to_string)
        .collect();
    mounts.sort();
    mounts
}

/// Host pids whose cgroup path lies under the pod's cgroup parent.
fn pod_processes(pod: &Pod) -> Vec<String> {
    let needle = format!("/{}/", pod.cgroup_parent());
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() {
            continue;
        }
        let cg = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
        if cg.contains(&needle) {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            found.push(format!("{name}: {}", text(&cmd).replace('\0', " ")));
        }
    }
    found
}

/// Files and directories under `dir` (to `depth` levels, not following
/// links or entering snapshots) whose name holds one of `ids`.
fn named_after(dir: &Path, ids: &[String], depth: usize, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if ids.iter().any(|id| name.contains(id.as_str())) {
            found.push(path.display().to_string());
        }
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && depth > 0 && !name.contains("snapshotter") && name != "rootfs" {
            named_after(&path, ids, depth - 1, found);
        }
    }
}

/// The pod's shims (started by the CRI containerd for one of `ids`) and
/// every process below them: pause, workloads and, under moat, sentries.
fn shim_tree(ids: &[String]) -> Vec<(u32, String)> {
    let procs: Vec<(u32, u32, String)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let ppid = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            Some((pid, ppid, text(&cmd).replace('\0', " ")))
        })
        .collect();
    let mut tree: Vec<u32> = procs
        .iter()
        .filter(|(_, _, c)| c.contains(CRI_SOCK) && ids.iter().any(|id| c.contains(id.as_str())))
        .map(|(p, _, _)| *p)
        .collect();
    loop {
        let more: Vec<u32> = procs
            .iter()
            .filter(|(p, pp, _)| tree.contains(pp) && !tree.contains(p))
            .map(|(p, _, _)| *p)
            .collect();
        if more.is_empty() {
            break;
        }
        tree.extend(more);
    }
    procs
        .into_iter()
        .filter(|(p, _, _)| tree.contains(p))
        .map(|(p, _, c)| (p, c))
        .collect()
}

fn alive(procs: &[(u32, String)]) -> Vec<String> {
    procs
        .iter()
        .filter(|(p, _)| Path::new(&format!("/proc/{p}")).exists())
        .map(|(p, c)| format!("{p}: {c}"))
        .collect()
}

/// Child cgroups left under the pod's cgroup parent, in any controller.
fn child_cgroups(pod: &Pod) -> Vec<String> {
    let mut cgroups = Vec::new();
    for d in pod.cgroup_dirs() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                cgroups.push(e.path().display().to_string());
            }
        }
    }
    cgroups
}

/// What a running pod holds on the host, taken before it is removed.
struct Held {
    ids: Vec<String>,
    /// The pod's shims and every process below them.
    tree: Vec<(u32, String)>,
    in_cgroups: Vec<String>,
    mounts: usize,
    cgroups: usize,
    /// Shim sockets (containerd's naming) that exist while the pod runs.
    sockets: Vec<PathBuf>,
}

impl Held {
    fn of(pod: &Pod) -> Held {
        let ids = pod.ids();
        Held {
            tree: shim_tree(&ids),
            ids,
            in_cgroups: pod_processes(pod),
            mounts: cri_mounts().len(),
            cgroups: child_cgroups(pod).len(),
            sockets: pod
                .ids()
                .iter()
                .map(|id| shim_socket(id))
                .filter(|s| s.exists())
                .collect(),
        }
    }

    fn pids_of(&self, needle: &str) -> Vec<u32> {
        let it = self.tree.iter().filter(|(_, c)| c.contains(needle));
        it.map(|(p, _)| *p).collect()
    }

    /// Sanity: a shim, pause and `containers` workloads at least; under
    /// moat one sentry for the whole pod.
    fn check(&self, containers: usize, mounts_before: usize) {
        let tree = &self.tree;
        assert!(tree.len() > containers + 1, "pod's processes: {tree:?}");
        let n = self.in_cgroups.len();
        assert!(
            n > containers,
            "in the pod's cgroups: {:?}",
            self.in_cgroups
        );
        if is_moat_handler() {
            let sentries = self.pids_of("moat-sentry").len();
            assert_eq!(
                sentries, 1,
                "moat-sentry processes under the shim: {tree:?}"
            );
        }
        assert!(self.mounts > mounts_before && self.cgroups > 0);
        if !is_moat_handler() {
            // runc's shim: one per pod, its socket named after the pod.
            assert_eq!(self.sockets.len(), 1, "shim sockets: {:?}", self.sockets);
        }
    }
}

/// After the pod's removal: what is left of it (processes, mounts other
/// than `mounts_before`, cgroups, state named after its ids), as messages.
fn leftovers(pod: &Pod, held: &Held, mounts_before: &[String]) -> Vec<String> {
    let mut left = Vec::new();
    eventually(Duration::from_secs(10), || alive(&held.tree).is_empty());
    left.extend(
        alive(&held.tree)
            .into_iter()
            .map(|p| format!("process {p}")),
    );
    let in_cgroups = pod_processes(pod);
    left.extend(
        in_cgroups
            .into_iter()
            .map(|p| format!("in pod cgroup: {p}")),
    );
    let mounts = cri_mounts();
    left.extend(
        mounts
            .iter()
            .filter(|m| !mounts_before.contains(m))
            .map(|m| format!("mount {m}")),
    );
    left.extend(
        child_cgroups(pod)
            .into_iter()
            .map(|c| format!("cgroup {c}")),
    );
    let mut state = Vec::new();
    for dir in CRI_DIRS.iter().chain(&["/run/moat"]) {
        named_after(Path::new(dir), &held.ids, 6, &mut state);
    }
    left.extend(state.into_iter().map(|s| format!("state {s}")));
    let sockets = held.ids.iter().map(|id| shim_socket(id));
    let sockets = sockets.filter(|s| s.exists());
    left.extend(sockets.map(|s| format!("shim socket {}", s.display())));
    left
}

/// A pod with two sleeping containers; their ids.
fn two_sleepers(cri: &mut Cri, pod: &mut Pod) -> [String; 2] {
    ["a", "b"].map(|name| cri.start_container(pod, busybox(name, &["sleep", "3600"])))
}

#[test]
fn removing_a_pod_leaves_nothing_behind() {
    let mut cri = Cri::connect();
    let mounts_before = cri_mounts();
    let mut pod = cri.run_pod();
    two_sleepers(&mut cri, &mut pod);
    let held = Held::of(&pod);
    cri.remove_pod(&pod);
    let left = leftovers(&pod, &held, &mounts_before);
    cri.finish(&pod);
    held.check(2, mounts_before.len());
    assert!(left.is_empty(), "left behind: {left:#?}");
    assert!(
        pod.cgroup_dirs().is_empty(),
        "pod cgroup parent not removable"
    );
}

/// Kill the processes of `held` whose command line holds `needle`, then
/// expect both containers reported exited (non-zero) and, once the pod is
/// removed, nothing left.
fn kill_mid_run(needle: &str) {
    let mut cri = Cri::connect();
    let mounts_before = cri_mounts();
    let mut pod = cri.run_pod();
    let ids = two_sleepers(&mut cri, &mut pod);
    let held = Held::of(&pod);
    let victims = held.pids_of(needle);
    for pid in &victims {
        // SAFETY: kill(2) with a pid and a signal number; no memory involved.
        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
    }
    let codes = ids.map(|id| cri.wait_exit(&id, Duration::from_secs(30)));
    cri.remove_pod(&pod);
    let mut left = leftovers(&pod, &held, &mounts_before);
    if needle.contains("shim") {
        // A shim removes its socket as it exits; one killed cannot, and
        // containerd 1.6 leaves the file (runc's shim alike). Ours to tidy.
        for s in &held.sockets {
            let _ = std::fs::remove_file(s);
        }
        left.retain(|l| !l.starts_with("shim socket"));
    }
    cri.finish(&pod);
    assert!(
        !victims.is_empty(),
        "no {needle} under the shim: {:?}",
        held.tree
    );
    held.check(2, mounts_before.len());
    assert!(
        codes.iter().all(|c| *c != 0),
        "exit codes after the kill: {codes:?}"
    );
    assert!(left.is_empty(), "left behind: {left:#?}");
}

#[test]
fn killing_the_shim_mid_run_reports_exit_and_leaks_nothing() {
    kill_mid_run("containerd-shim");
}

#[test]
fn killing_the_sentry_mid_run_reports_exit_and_leaks_nothing() {
    if !is_moat_handler() {
        // runc has no sentry: the shim test covers its side.
        return;
    }
    kill_mid_run("moat-sentry");
}

/// `config` with its pid namespace as kubelet asks: the pod's
/// (`shareProcessNamespace: true`) or the container's own.
fn pid_namespace(mut config: ContainerConfig, mode: NamespaceMode) -> ContainerConfig {
    let linux = config.linux.get_or_insert_with(Default::default);
    let sc = linux.security_context.get_or_insert_with(Default::default);
    sc.namespace_options = Some(NamespaceOption {
        pid: mode as i32,
        ..Default::default()
    });
    config
}

/// What `ps` shows in container `b` of a pod whose containers `a` and `b`
/// (`sleep 3600` and `sleep 3601`) get the pid namespace `mode`.
fn ps_in_pod(mode: NamespaceMode) -> String {
    let mut cri = Cri::connect();
    let mut pod = cri.run_pod();
    cri.start_container(
        &mut pod,
        pid_namespace(busybox("a", &["sleep", "3600"]), mode),
    );
    let b = cri.start_container(
        &mut pod,
        pid_namespace(busybox("b", &["sleep", "3601"]), mode),
    );
    let ps = cri.exec_sync(&b, &["ps", "-o", "pid,args"]);
    cri.finish(&pod);
    assert_eq!(ps.exit_code, 0, "stderr: {}", text(&ps.stderr));
    stdout(&ps)
}

#[test]
fn share_process_namespace_shows_the_other_containers_processes() {
    let shared = ps_in_pod(NamespaceMode::Pod);
    assert!(shared.contains("sleep 3600"), "{shared}");
    assert!(shared.contains("sleep 3601"), "{shared}");
    assert!(shared.contains("/pause"), "{shared}");
    let own = ps_in_pod(NamespaceMode::Container);
    assert!(own.contains("sleep 3601"), "{own}");
    assert!(!own.contains("sleep 3600"), "{own}");
    assert!(!own.contains("/pause"), "{own}");
}

/// A pod with no `seccompProfile` (containerd then applies none): moat's
/// own policy is the only filter, and `listmount`/`statmount` (which under
/// runc print the host's mount table) are ENOSYS.
#[test]
fn listmount_without_a_seccomp_profile_shows_no_host_path() {
    let probe = static_c_binary("hack/probe/surface.c");
    let dir = probe.parent().expect("the probe's directory").to_path_buf();
    let mut cri = Cri::connect();
    let mut pod = cri.run_pod();
    let mut config = busybox("surface", &["sleep", "3600"]);
    config.mounts = vec![k8s_cri::v1::Mount {
        container_path: "/p".into(),
        host_path: dir.to_string_lossy().into_owned(),
        readonly: true,
        ..Default::default()
    }];
    let id = cri.start_container(&mut pod, config);
    let r = cri.exec_sync(&id, &["/p/surface", "mounts"]);
    cri.finish(&pod);
    let out = stdout(&r);
    if is_moat_handler() {
        assert_eq!(out.trim(), "listmount: errno=38", "{}", text(&r.stderr));
    } else if !out.starts_with("listmount: errno=38") {
        // runc, on a kernel with listmount: the host's paths.
        assert!(out.contains("/var/lib") || out.contains("/dev/"), "{out}");
    }
}
