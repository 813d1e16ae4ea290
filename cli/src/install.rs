//! `moat install` / `moat uninstall`: register moat as a Docker runtime in
//! daemon.json, like `runsc install`, keeping every other key; with
//! `--containerd`, as a CRI handler in containerd's config.toml
//! (install_containerd.rs).

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use std::path::Path;

use crate::cli::InstallArgs;

pub fn install(a: &InstallArgs) -> Result<i32> {
    check_flags(a)?;
    if a.containerd {
        return crate::install_containerd::install(a);
    }
    let doc = read(&a.config_file)?;
    let entry = if a.docker_shim {
        if !a.runtime_args.is_empty() {
            bail!("runtime arguments need the path form: drop --docker-shim");
        }
        Entry::Shim
    } else {
        let exe = std::env::current_exe().context("locating the moat binary")?;
        let exe = exe.canonicalize().unwrap_or(exe);
        Entry::Path(exe.to_string_lossy().into_owned(), a.runtime_args.clone())
    };
    let doc = add_runtime(doc, &a.runtime, &entry)?;
    write(&a.config_file, &doc)?;
    match entry {
        Entry::Path(_, args) => println!(
            "Added runtime {:?} with arguments {:?} to {:?}.",
            a.runtime,
            args,
            a.config_file.display().to_string()
        ),
        Entry::Shim => println!(
            "Added runtime {:?} (runtimeType {SHIM_TYPE}, Docker >= 23; containerd finds \
             containerd-shim-moat-v1 on its PATH) to {:?}.",
            a.runtime,
            a.config_file.display().to_string()
        ),
    }
    println!("Reload dockerd to use it: kill -HUP $(pidof dockerd)");
    Ok(0)
}

pub fn uninstall(a: &InstallArgs) -> Result<i32> {
    check_flags(a)?;
    if a.containerd {
        return crate::install_containerd::uninstall(a);
    }
    let doc = read(&a.config_file)?;
    let (doc, removed) = remove_runtime(doc, &a.runtime)?;
    if removed {
        write(&a.config_file, &doc)?;
        println!(
            "Removed runtime {:?} from {:?}.",
            a.runtime,
            a.config_file.display().to_string()
        );
    } else {
        println!(
            "Runtime {:?} not found in {:?}: nothing to do.",
            a.runtime,
            a.config_file.display().to_string()
        );
    }
    Ok(0)
}

fn check_flags(a: &InstallArgs) -> Result<()> {
    if a.config.is_some() && !a.containerd {
        bail!("--config names containerd's config.toml: add --containerd (daemon.json is --config-file)");
    }
    if a.containerd && !a.runtime_args.is_empty() {
        bail!("runtime arguments are for Docker's path form: with --containerd set them in the shim's settings file");
    }
    Ok(())
}

fn read(path: &Path) -> Result<Value> {
    match std::fs::read(path) {
        Ok(data) if data.iter().all(u8::is_ascii_whitespace) => Ok(json!({})),
        Ok(data) => {
            serde_json::from_slice(&data).with_context(|| format!("parsing {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({})),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write(path: &Path, doc: &Value) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut text = serde_json::to_string_pretty(doc)?;
    text.push('\n');
    moat_runtime::state::write_atomic(path, text.as_bytes())?;
    Ok(())
}

fn object<'a>(v: &'a mut Value, what: &str) -> Result<&'a mut Map<String, Value>> {
    match v.as_object_mut() {
        Some(m) => Ok(m),
        None => bail!("{what} is not a JSON object"),
    }
}

/// What Docker starts for the runtime.
pub enum Entry {
    /// The runc-compatible binary and its extra arguments (every Docker).
    Path(String, Vec<String>),
    /// The shim-v2 runtime, by its type (Docker >= 23).
    Shim,
}

/// containerd's runtime type of containerd-shim-moat-v1.
pub const SHIM_TYPE: &str = crate::containerd_toml::RUNTIME_TYPE;

pub fn add_runtime(mut doc: Value, name: &str, entry: &Entry) -> Result<Value> {
    let root = object(&mut doc, "daemon.json")?;
    let runtimes = root.entry("runtimes").or_insert_with(|| json!({}));
    let rt = match entry {
        Entry::Path(path, args) if args.is_empty() => json!({ "path": path }),
        Entry::Path(path, args) => json!({ "path": path, "runtimeArgs": args }),
        Entry::Shim => json!({ "runtimeType": SHIM_TYPE }),
    };
    object(runtimes, "runtimes")?.insert(name.to_string(), rt);
    Ok(doc)
}

pub fn remove_runtime(mut doc: Value, name: &str) -> Result<(Value, bool)> {
    let root = object(&mut doc, "daemon.json")?;
    let removed = match root.get_mut("runtimes") {
        Some(r) => object(r, "runtimes")?.remove(name).is_some(),
        None => false,
    };
    Ok((doc, removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_other_keys_and_is_idempotent() {
        let doc = json!({"debug": true, "runtimes": {"runsc": {"path": "/usr/bin/runsc"}}});
        let p = Entry::Path("/usr/local/bin/moat".into(), vec![]);
        let once = add_runtime(doc, "moat", &p).unwrap();
        let twice = add_runtime(once.clone(), "moat", &p).unwrap();
        assert_eq!(once, twice);
        assert_eq!(once["debug"], json!(true));
        assert_eq!(once["runtimes"]["runsc"]["path"], "/usr/bin/runsc");
        assert_eq!(
            once["runtimes"]["moat"],
            json!({"path": "/usr/local/bin/moat"})
        );
        let with_args = add_runtime(
            json!({}),
            "m2",
            &Entry::Path("/m".into(), vec!["--debug".into()]),
        )
        .unwrap();
        assert_eq!(
            with_args["runtimes"]["m2"]["runtimeArgs"],
            json!(["--debug"])
        );
        let (gone, removed) = remove_runtime(once, "moat").unwrap();
        assert!(removed);
        assert_eq!(
            gone["runtimes"],
            json!({"runsc": {"path": "/usr/bin/runsc"}})
        );
        assert!(!remove_runtime(gone, "moat").unwrap().1);
        let m = Entry::Path("/m".into(), vec![]);
        assert!(add_runtime(json!([1]), "moat", &m).is_err());
    }

    #[test]
    fn shim_form_beside_the_path_form() {
        let doc = add_runtime(json!({}), "moat", &Entry::Path("/m".into(), vec![])).unwrap();
        let doc = add_runtime(doc, "moat-shim", &Entry::Shim).unwrap();
        assert_eq!(
            doc["runtimes"],
            json!({"moat": {"path": "/m"}, "moat-shim": {"runtimeType": "io.containerd.moat.v1"}})
        );
    }

    #[test]
    fn file_round_trip() {
        let dir = std::env::temp_dir().join(format!("moat-install-{}", std::process::id()));
        let file = dir.join("daemon.json");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&file, r#"{"log-level": "warn"}"#).unwrap();
        let m = Entry::Path("/m".into(), vec![]);
        let doc = add_runtime(read(&file).unwrap(), "moat", &m).unwrap();
        write(&file, &doc).unwrap();
        let back: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(back["log-level"], "warn");
        assert_eq!(back["runtimes"]["moat"]["path"], "/m");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
