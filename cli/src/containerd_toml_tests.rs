use super::*;

/// containerd 1.7's `containerd config default` shape, with a user's
/// comments and a second runtime.
const V2: &str = r#"# Node config, managed by hand.
version = 2
root = "/var/lib/containerd"

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.9"   # pinned
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]
        # runc stays the default
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            SystemdCgroup = true
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
          runtime_type = "io.containerd.runsc.v1"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/opt/containerd"

# the end
"#;

/// containerd 2.x (`containerd config default` of 2.0), trimmed.
const V3: &str = r#"version = 3
root = '/var/lib/containerd'

[plugins]
  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false

    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes]
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
          runtime_type = 'io.containerd.runc.v2'
"#;

fn handler<'a>(doc: &'a DocumentMut, plugin: &str) -> &'a Item {
    &doc["plugins"][plugin]["containerd"]["runtimes"]["moat"]
}

/// The lines of `after` that are not in `before` (both line sets, in order).
fn added_lines(before: &str, after: &str) -> Vec<String> {
    let mut old = before.lines().peekable();
    let mut out = Vec::new();
    for line in after.lines() {
        if old.peek() == Some(&line) {
            old.next();
        } else {
            out.push(line.to_string());
        }
    }
    assert!(old.next().is_none(), "a line of the original went missing");
    out
}

#[test]
fn v2_adds_only_the_handler_and_restores_bytes() {
    let a = add_handler(V2, "moat", Some("/etc/moat/shim.toml")).unwrap();
    assert_eq!((a.version, a.set_version), (2, false));
    let doc: DocumentMut = a.text.parse().unwrap();
    let h = handler(&doc, "io.containerd.grpc.v1.cri");
    assert_eq!(h["runtime_type"].as_str(), Some(RUNTIME_TYPE));
    assert_eq!(h["options"]["TypeUrl"].as_str(), Some(OPTIONS_TYPE_URL));
    assert_eq!(
        h["options"]["ConfigPath"].as_str(),
        Some("/etc/moat/shim.toml")
    );
    let runsc = &doc["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["runsc"];
    assert_eq!(
        runsc["runtime_type"].as_str(),
        Some("io.containerd.runsc.v1")
    );
    assert_eq!(
        added_lines(V2, &a.text),
        [
            "",
            MARK.trim_end(),
            "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.moat]",
            "runtime_type = \"io.containerd.moat.v1\"",
            "",
            "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.moat.options]",
            "TypeUrl = \"io.containerd.moat.v1.options\"",
            "ConfigPath = \"/etc/moat/shim.toml\"",
        ]
    );
    let (back, removed) = remove_handler(&a.text, "moat").unwrap();
    assert!(removed);
    assert_eq!(back, V2);
}

#[test]
fn idempotent_and_updates_in_place() {
    let once = add_handler(V2, "moat", Some("/etc/moat/shim.toml"))
        .unwrap()
        .text;
    let twice = add_handler(&once, "moat", Some("/etc/moat/shim.toml"))
        .unwrap()
        .text;
    assert_eq!(once, twice);
    // A changed ConfigPath replaces the old value, nothing else moves.
    let moved = add_handler(&once, "moat", Some("/srv/shim.toml"))
        .unwrap()
        .text;
    assert_eq!(
        moved,
        once.replace("\"/etc/moat/shim.toml\"", "\"/srv/shim.toml\"")
    );
    let (back, _) = remove_handler(&moved, "moat").unwrap();
    assert_eq!(back, V2);
}

#[test]
fn without_options_and_under_another_name() {
    let a = add_handler(V2, "sandboxed", None).unwrap();
    let doc: DocumentMut = a.text.parse().unwrap();
    let h = &doc["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["sandboxed"];
    assert_eq!(h["runtime_type"].as_str(), Some(RUNTIME_TYPE));
    assert!(h.get("options").is_none());
    assert!(!remove_handler(&a.text, "moat").unwrap().1);
    assert_eq!(remove_handler(&a.text, "sandboxed").unwrap().0, V2);
}

#[test]
fn v3_uses_the_cri_runtime_plugin() {
    let a = add_handler(V3, "moat", Some("/etc/moat/shim.toml")).unwrap();
    assert_eq!(a.version, 3);
    let doc: DocumentMut = a.text.parse().unwrap();
    assert_eq!(
        handler(&doc, "io.containerd.cri.v1.runtime")["runtime_type"].as_str(),
        Some(RUNTIME_TYPE)
    );
    assert!(doc["plugins"].get("io.containerd.grpc.v1.cri").is_none());
    assert_eq!(remove_handler(&a.text, "moat").unwrap().0, V3);
}

#[test]
fn creates_missing_tables_and_removes_them_again() {
    // Debian 12's packaged config: no runtimes table at all.
    let debian = "version = 2\n\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n      bin_dir = \"/usr/lib/cni\"\n";
    let a = add_handler(debian, "moat", None).unwrap();
    let doc: DocumentMut = a.text.parse().unwrap();
    assert_eq!(
        handler(&doc, "io.containerd.grpc.v1.cri")["runtime_type"].as_str(),
        Some(RUNTIME_TYPE)
    );
    assert_eq!(remove_handler(&a.text, "moat").unwrap().0, debian);
    let bare = "version = 3\n";
    let a = add_handler(bare, "moat", None).unwrap();
    assert_eq!(remove_handler(&a.text, "moat").unwrap().0, bare);
}

#[test]
fn empty_file_gets_version_2() {
    for empty in ["", "# nothing yet\n"] {
        let a = add_handler(empty, "moat", None).unwrap();
        assert_eq!((a.version, a.set_version), (2, true));
        let doc: DocumentMut = a.text.parse().unwrap();
        assert_eq!(doc["version"].as_integer(), Some(2));
        assert!(a.text.contains("# nothing yet") || empty.is_empty());
    }
}

#[test]
fn refuses_what_it_does_not_know() {
    let v1 = "[plugins.cri.containerd]\n  snapshotter = \"overlayfs\"\n";
    let e = add_handler(v1, "moat", None).unwrap_err().to_string();
    assert!(e.contains("version 1"), "{e}");
    let e = add_handler("version = 4\n", "moat", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("version 4 is not supported"), "{e}");
    let e = add_handler("version = 2\n[plugins\n", "moat", None)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("not valid TOML (line 2)"), "{e}");
    assert!(!e.contains('\n'), "{e}");
    let inline = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\nruntimes = { runc = { runtime_type = \"x\" } }\n";
    let e = add_handler(inline, "moat", None).unwrap_err().to_string();
    assert!(e.contains("not a table"), "{e}");
    assert!(remove_handler("version = 9\n", "moat").is_err());
}
