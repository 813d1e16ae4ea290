//! `moat install --containerd` / `moat uninstall --containerd`: the file side
//! of adding moat's CRI handler to containerd's config.toml (the TOML edit
//! itself is containerd_toml.rs). Each change keeps a backup of the file as
//! it was, next to it.

use anyhow::{Context, Result};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::cli::InstallArgs;
use crate::containerd_toml::{add_handler, remove_handler};

const DEFAULT_CONFIG: &str = "/etc/containerd/config.toml";
const RESTART: &str = "Restart containerd to load it: systemctl restart containerd";

fn config(a: &InstallArgs) -> &Path {
    a.config.as_deref().unwrap_or(Path::new(DEFAULT_CONFIG))
}

pub fn install(a: &InstallArgs) -> Result<i32> {
    let path = config(a);
    let old = read(path)?;
    let shim_config = a
        .shim_config
        .exists()
        .then(|| a.shim_config.to_string_lossy().into_owned());
    let added = add_handler(
        old.as_deref().unwrap_or(""),
        &a.runtime,
        shim_config.as_deref(),
    )
    .with_context(|| path.display().to_string())?;
    if old.as_deref() == Some(added.text.as_str()) {
        println!(
            "Handler {:?} is already in {} (config version {}): nothing to do.",
            a.runtime,
            path.display(),
            added.version
        );
        return Ok(0);
    }
    write(path, old.as_deref(), &added.text)?;
    if old.is_none() {
        println!("Created {} (config version 2).", path.display());
    } else if added.set_version {
        println!("{} held no settings: wrote `version = 2`.", path.display());
    }
    println!(
        "Added CRI runtime handler {:?} (runtime_type {}) to {} (config version {}).",
        a.runtime,
        crate::containerd_toml::RUNTIME_TYPE,
        path.display(),
        added.version
    );
    match &shim_config {
        Some(c) => println!("The shim reads its settings from {c} (options.ConfigPath)."),
        None => println!(
            "{} does not exist: no options written (the shim's defaults apply).",
            a.shim_config.display()
        ),
    }
    println!("{RESTART}");
    Ok(0)
}

pub fn uninstall(a: &InstallArgs) -> Result<i32> {
    let path = config(a);
    let Some(old) = read(path)? else {
        println!("{} does not exist: nothing to do.", path.display());
        return Ok(0);
    };
    let (text, removed) =
        remove_handler(&old, &a.runtime).with_context(|| path.display().to_string())?;
    if !removed {
        println!(
            "Handler {:?} not found in {}: nothing to do.",
            a.runtime,
            path.display()
        );
        return Ok(0);
    }
    write(path, Some(&old), &text)?;
    println!(
        "Removed CRI runtime handler {:?} from {}.",
        a.runtime,
        path.display()
    );
    println!("{RESTART}");
    Ok(0)
}

/// The file's text, `None` when it does not exist.
fn read(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(data) => String::from_utf8(data)
            .map(Some)
            .with_context(|| format!("{} is not UTF-8", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// `config.toml` -> `config.toml.moat-backup`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".moat-backup");
    PathBuf::from(name)
}

/// Back `old` up (when there was a file), then replace the file atomically
/// with `text`, keeping its permission bits.
fn write(path: &Path, old: Option<&str>, text: &str) -> Result<()> {
    let mode = match std::fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(_) => 0o644,
    };
    if let Some(old) = old {
        let backup = backup_path(path);
        std::fs::write(&backup, old).with_context(|| format!("writing {}", backup.display()))?;
        println!("Backup of the previous file: {}", backup.display());
    } else if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".moat-tmp");
    let tmp = PathBuf::from(tmp);
    let ctx = || format!("writing {}", path.display());
    let mut f = std::fs::File::create(&tmp).with_context(ctx)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(ctx)?;
    f.write_all(text.as_bytes()).with_context(ctx)?;
    f.sync_all().with_context(ctx)?;
    std::fs::rename(&tmp, path).with_context(ctx)
}
