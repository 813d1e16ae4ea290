//! The Debian package (hack/package.sh): its file list, its control data,
//! and the binaries running from a scratch root it is unpacked into.
//! Packs the release build already in target/release (hack/install.sh makes
//! it); without one the test says so and stops rather than building for
//! minutes.

use moat_tests::*;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const BINS: [&str; 4] = [
    "moat",
    "moat-sentry",
    "moat-gofer",
    "containerd-shim-moat-v1",
];

fn dpkg_deb(args: &[&str]) -> String {
    let out = run(Command::new("dpkg-deb").args(args), Duration::from_secs(60));
    assert!(
        out.status.success(),
        "dpkg-deb {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn deb_contents_control_and_binaries_run_from_it() {
    let release = repo().join("target/release");
    if let Some(b) = BINS.iter().find(|b| !release.join(b).exists()) {
        println!("no release build ({b} missing in target/release): skipping");
        return;
    }
    let dir = std::env::temp_dir().join(unique("moat-package"));
    let out = run(
        Command::new(repo().join("hack/package.sh"))
            .args(["--no-build", "--out"])
            .arg(&dir),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let deb = PathBuf::from(text(&out.stdout).trim());
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(name, format!("moat_{version}_amd64.deb"));

    // Exactly these files, owned by root, nothing else of its own.
    let listing = dpkg_deb(&["-c", deb.to_str().unwrap()]);
    let mut files: Vec<&str> = listing
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| l.split_whitespace().last().unwrap())
        .collect();
    files.sort();
    let mut want: Vec<String> = BINS.iter().map(|b| format!("./usr/bin/{b}")).collect();
    want.push("./etc/moat/shim.toml".into());
    for d in [
        "README.Debian",
        "containerd-config.toml",
        "copyright",
        "daemon.json",
        "pod.yaml",
        "runtimeclass.yaml",
    ] {
        want.push(format!("./usr/share/doc/moat/{d}"));
    }
    want.sort();
    assert_eq!(files, want);
    for l in listing.lines() {
        assert!(l.contains(" root/root "), "{l}");
        if l.contains("./usr/bin/") && l.starts_with('-') {
            assert!(l.starts_with("-rwxr-xr-x"), "{l}");
        }
    }

    let fields = dpkg_deb(&["-f", deb.to_str().unwrap()]);
    assert!(fields.contains("Package: moat\n"), "{fields}");
    assert!(
        fields.contains(&format!("Version: {version}\n")),
        "{fields}"
    );
    assert!(fields.contains("Depends: libc6 (>= "), "{fields}");
    let conffiles = dpkg_deb(&["-I", deb.to_str().unwrap(), "conffiles"]);
    assert_eq!(conffiles.trim(), "/etc/moat/shim.toml");
    // Installing registers nothing: no maintainer scripts at all.
    let info = dpkg_deb(&["-I", deb.to_str().unwrap()]);
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        assert!(!info.contains(script), "{info}");
    }

    let root = dir.join("root");
    let x = run(
        Command::new("dpkg").arg("-x").arg(&deb).arg(&root),
        Duration::from_secs(60),
    );
    assert!(x.status.success(), "{}", text(&x.stderr));
    let v = run(
        Command::new(root.join("usr/bin/moat")).arg("--version"),
        Duration::from_secs(10),
    );
    assert!(v.status.success(), "{}", text(&v.stderr));
    assert_eq!(
        text(&v.stdout).lines().next(),
        Some(format!("moat version {version}").as_str())
    );
    // The packaged moat edits a containerd config with the packaged
    // shim.toml named in the handler's options.
    let cfg = dir.join("config.toml");
    let shim_toml = root.join("etc/moat/shim.toml");
    let i = run(
        Command::new(root.join("usr/bin/moat"))
            .args(["install", "--containerd", "--config"])
            .arg(&cfg)
            .arg("--shim-config")
            .arg(&shim_toml),
        Duration::from_secs(10),
    );
    assert!(i.status.success(), "{}", text(&i.stderr));
    let written = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        written.contains(&format!("ConfigPath = \"{}\"", shim_toml.display())),
        "{written}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
