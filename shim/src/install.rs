//! `moat install` / `moat uninstall`: register moat as a Docker runtime in
//! daemon.json, like `runsc install`, keeping every other key.

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use std::path::Path;

use crate::cli::InstallArgs;

pub fn install(a: &InstallArgs) -> Result<i32> {
    let exe = std::env::current_exe().context("locating the moat binary")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let doc = read(&a.config_file)?;
    let doc = add_runtime(doc, &a.runtime, &exe.to_string_lossy(), &a.runtime_args)?;
    write(&a.config_file, &doc)?;
    println!(
        "Added runtime {:?} with arguments {:?} to {:?}.",
        a.runtime,
        a.runtime_args,
        a.config_file.display().to_string()
    );
    Ok(0)
}

pub fn uninstall(a: &InstallArgs) -> Result<i32> {
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

pub fn add_runtime(mut doc: Value, name: &str, path: &str, args: &[String]) -> Result<Value> {
    let root = object(&mut doc, "daemon.json")?;
    let runtimes = root.entry("runtimes").or_insert_with(|| json!({}));
    let mut rt = json!({ "path": path });
    if !args.is_empty() {
        rt["runtimeArgs"] = json!(args);
    }
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
        let once = add_runtime(doc, "moat", "/usr/local/bin/moat", &[]).unwrap();
        let twice = add_runtime(once.clone(), "moat", "/usr/local/bin/moat", &[]).unwrap();
        assert_eq!(once, twice);
        assert_eq!(once["debug"], json!(true));
        assert_eq!(once["runtimes"]["runsc"]["path"], "/usr/bin/runsc");
        assert_eq!(
            once["runtimes"]["moat"],
            json!({"path": "/usr/local/bin/moat"})
        );
        let with_args = add_runtime(json!({}), "m2", "/m", &["--debug".into()]).unwrap();
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
        assert!(add_runtime(json!([1]), "moat", "/m", &[]).is_err());
    }

    #[test]
    fn file_round_trip() {
        let dir = std::env::temp_dir().join(format!("moat-install-{}", std::process::id()));
        let file = dir.join("daemon.json");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&file, r#"{"log-level": "warn"}"#).unwrap();
        let doc = add_runtime(read(&file).unwrap(), "moat", "/m", &[]).unwrap();
        write(&file, &doc).unwrap();
        let back: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(back["log-level"], "warn");
        assert_eq!(back["runtimes"]["moat"]["path"], "/m");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
