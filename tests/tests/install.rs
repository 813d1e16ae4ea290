//! `moat install --containerd` and `moat install --docker-shim` as a user
//! runs them: on files in a scratch directory, with the real containerd
//! (`containerd config dump`, or `MOAT_CONTAINERD_BIN`) checking that it
//! reads the handler moat wrote.

use moat_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// A containerd 1.6/1.7 config with a user's comments and two runtimes.
const CONFIG: &str = r#"# This node's containerd. Edited by hand: keep the comments.
version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"   # not moat
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
          runtime_type = "io.containerd.runsc.v1"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
"#;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("moat-install"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn moat(args: &[&str]) -> Output {
    run(Command::new(moat_bin()).args(args), Duration::from_secs(10))
}

fn containerd_bin() -> PathBuf {
    std::env::var_os("MOAT_CONTAINERD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("containerd"))
}

/// containerd's own reading of `config` (`containerd config dump`).
fn dump(config: &Path) -> String {
    let out = run(
        Command::new(containerd_bin())
            .arg("--config")
            .arg(config)
            .args(["config", "dump"]),
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The lines of the table `header` in a `config dump`, up to the next header.
fn table<'a>(dump: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = dump.lines().skip_while(|l| l.trim() != header);
    lines.next();
    lines
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

const HANDLER: &str = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.moat]";

#[test]
fn containerd_handler_added_read_by_containerd_and_removed_byte_exact() {
    let dir = scratch();
    let config = dir.join("config.toml");
    let shim_toml = dir.join("shim.toml");
    std::fs::write(&config, CONFIG).unwrap();
    std::fs::write(&shim_toml, "# defaults\n").unwrap();
    let c = config.to_str().unwrap();
    let s = shim_toml.to_str().unwrap();
    let out = moat(&["install", "--containerd", "--config", c, "--shim-config", s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("systemctl restart containerd"), "{said}");
    assert!(said.contains("config version 2"), "{said}");
    let edited = std::fs::read_to_string(&config).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("config.toml.moat-backup")).unwrap(),
        CONFIG
    );
    // Every original line is still there, in order; what was added is the
    // handler's table and its options.
    assert!(edited.starts_with(
        CONFIG
            .split("  [plugins.\"io.containerd.internal")
            .next()
            .unwrap()
    ));
    assert!(edited.contains("# not moat\n") && edited.contains("runtimes.runsc]"));
    let d = dump(&config);
    let moat_lines = table(&d, HANDLER);
    assert!(
        moat_lines.contains(&"runtime_type = \"io.containerd.moat.v1\""),
        "{d}"
    );
    let opts = table(&d, &HANDLER.replace(".moat]", ".moat.options]"));
    assert!(
        opts.contains(&"TypeUrl = \"io.containerd.moat.v1.options\"")
            && opts.contains(&format!("ConfigPath = \"{s}\"").as_str()),
        "{opts:?}"
    );
    let runsc = table(&d, &HANDLER.replace(".moat]", ".runsc]"));
    assert!(runsc.contains(&"runtime_type = \"io.containerd.runsc.v1\""));

    // A second install changes nothing.
    let again = moat(&["install", "--containerd", "--config", c, "--shim-config", s]);
    assert!(text(&again.stdout).contains("nothing to do"));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);

    let out = moat(&["uninstall", "--containerd", "--config", c]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), CONFIG);
    assert!(table(&dump(&config), HANDLER).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn containerd_refusals_are_one_line_and_leave_the_file() {
    let dir = scratch();
    for (name, body, want) in [
        ("v1.toml", "[plugins.cri]\n  x = 1\n", "version 1"),
        ("v9.toml", "version = 9\n", "version 9 is not supported"),
        (
            "bad.toml",
            "version = 2\n[plugins\n",
            "not valid TOML (line 2)",
        ),
    ] {
        let f = dir.join(name);
        std::fs::write(&f, body).unwrap();
        let out = moat(&["install", "--containerd", "--config", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.starts_with("moat: ") && err.contains(want), "{err}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), body);
        assert!(!dir.join(format!("{name}.moat-backup")).exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn containerd_missing_file_is_created_with_version_2() {
    let dir = scratch();
    let config = dir.join("etc/containerd/config.toml");
    let out = moat(&[
        "install",
        "--containerd",
        "--config",
        config.to_str().unwrap(),
        "--shim-config",
        dir.join("absent.toml").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("Created") && said.contains("no options written"),
        "{said}"
    );
    let d = dump(&config);
    assert!(table(&d, HANDLER).contains(&"runtime_type = \"io.containerd.moat.v1\""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn docker_shim_form_beside_the_path_form() {
    let dir = scratch();
    let daemon = dir.join("daemon.json");
    std::fs::write(&daemon, "{\"log-level\": \"warn\"}\n").unwrap();
    let d = daemon.to_str().unwrap();
    assert!(moat(&["install", "--config-file", d]).status.success());
    let out = moat(&[
        "install",
        "--docker-shim",
        "--runtime",
        "moat-shim",
        "--config-file",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&daemon).unwrap()).unwrap();
    assert_eq!(doc["log-level"], "warn");
    assert!(doc["runtimes"]["moat"]["path"].is_string());
    assert_eq!(
        doc["runtimes"]["moat-shim"],
        serde_json::json!({"runtimeType": "io.containerd.moat.v1"})
    );
    let out = moat(&[
        "install",
        "--docker-shim",
        "--config-file",
        d,
        "--",
        "--strace",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Config version 3 read by containerd 2.x itself: `MOAT_CONTAINERD2_BIN`,
/// or the sid package `hack/versions.sh fetch` unpacks.
#[test]
fn containerd2_reads_the_version_3_handler() {
    let bin = std::env::var_os("MOAT_CONTAINERD2_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from("/var/lib/moat-hack/trixie/containerd-2/usr/bin/containerd")
        });
    if !bin.exists() {
        println!(
            "no containerd 2.x ({}; hack/versions.sh fetch): skipping",
            bin.display()
        );
        return;
    }
    let dir = scratch();
    let config = dir.join("config.toml");
    let default = run(
        Command::new(&bin).args(["config", "default"]),
        Duration::from_secs(20),
    );
    assert!(default.status.success(), "{}", text(&default.stderr));
    let original = text(&default.stdout);
    assert!(original.starts_with("version = 3"), "{original}");
    std::fs::write(&config, &original).unwrap();
    let c = config.to_str().unwrap();
    let out = moat(&[
        "install",
        "--containerd",
        "--config",
        c,
        "--shim-config",
        "/",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        Command::new(&bin).args(["--config", c, "config", "dump"]),
        Duration::from_secs(20),
    );
    let d = text(&out.stdout);
    let v3 = "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.moat]";
    assert!(
        table(&d, v3).contains(&"runtime_type = 'io.containerd.moat.v1'"),
        "{d}"
    );
    let opts = table(&d, &v3.replace(".moat]", ".moat.options]"));
    assert!(opts.contains(&"ConfigPath = '/'"), "{opts:?}");
    assert!(moat(&["uninstall", "--containerd", "--config", c])
        .status
        .success());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
    let _ = std::fs::remove_dir_all(&dir);
}
