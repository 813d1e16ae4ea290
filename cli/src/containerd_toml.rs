//! Adding and removing moat's CRI runtime handler in containerd's
//! config.toml, keeping every other byte (comments, order, spacing): the
//! edits go through toml_edit, which re-renders untouched parts verbatim.
//!
//! Config version 2 (containerd 1.6/1.7) keeps CRI runtimes under
//! `plugins."io.containerd.grpc.v1.cri".containerd.runtimes`, version 3
//! (containerd 2.x) under `plugins."io.containerd.cri.v1.runtime".containerd.runtimes`.

use anyhow::{anyhow, bail, Result};
use toml_edit::{value, DocumentMut, Item, Table};

/// The shim containerd starts for this handler (`containerd-shim-moat-v1`).
pub const RUNTIME_TYPE: &str = "io.containerd.moat.v1";
/// What the shim expects in `options.TypeUrl` (shim/src/options.rs).
pub const OPTIONS_TYPE_URL: &str = "io.containerd.moat.v1.options";
/// The comment `install` puts above the handler's table.
const MARK: &str =
    "# Added by `moat install --containerd`; `moat uninstall --containerd` removes it.\n";

/// What `add_handler` did, for the message the CLI prints.
#[derive(Debug, PartialEq)]
pub struct Added {
    pub text: String,
    pub version: i64,
    /// The file had no settings: `version = 2` was written first.
    pub set_version: bool,
}

/// The table path of the CRI runtimes for a config version.
fn runtimes_path(version: i64) -> Result<[&'static str; 4]> {
    match version {
        2 => Ok([
            "plugins",
            "io.containerd.grpc.v1.cri",
            "containerd",
            "runtimes",
        ]),
        3 => Ok([
            "plugins",
            "io.containerd.cri.v1.runtime",
            "containerd",
            "runtimes",
        ]),
        v => bail!("containerd config version {v} is not supported (moat knows versions 2 and 3)"),
    }
}

fn parse(text: &str) -> Result<DocumentMut> {
    text.parse::<DocumentMut>().map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
            .unwrap_or(1);
        anyhow!("not valid TOML (line {line}): {}", e.message().trim())
    })
}

/// The file's config version; `Ok(None)` when it holds no settings at all.
fn version(doc: &DocumentMut) -> Result<Option<i64>> {
    match doc.get("version") {
        Some(item) => match item.as_integer() {
            Some(v) => Ok(Some(v)),
            None => bail!("`version` is not an integer"),
        },
        None if doc.as_table().is_empty() => Ok(None),
        None => bail!(
            "containerd config version 1 (no `version` key) is not supported: \
             add `version = 2` (containerd 1.x) or run `containerd config migrate`"
        ),
    }
}

/// Descend into `key` of `t`, creating an implicit (header-less) table when
/// missing; refuses values and inline tables, which a table cannot join.
fn child<'a>(t: &'a mut Table, key: &str, where_: &str) -> Result<&'a mut Table> {
    let item = t.entry(key).or_insert_with(|| {
        let mut new = Table::new();
        new.set_implicit(true);
        Item::Table(new)
    });
    item.as_table_mut()
        .ok_or_else(|| anyhow!("{where_}.{key:?} is not a table (inline tables are not supported)"))
}

/// Add (or update) handler `name` with `runtime_type` and, when
/// `shim_config` is given, its `options` (TypeUrl, ConfigPath).
pub fn add_handler(text: &str, name: &str, shim_config: Option<&str>) -> Result<Added> {
    let mut doc = parse(text)?;
    let (ver, set_version) = match version(&doc)? {
        Some(v) => (v, false),
        None => {
            doc.insert("version", value(2));
            (2, true)
        }
    };
    let path = runtimes_path(ver)?;
    let mut t = doc.as_table_mut();
    let mut where_ = String::new();
    for key in path {
        t = child(t, key, &where_)?;
        where_ = format!("{where_}.{key:?}");
    }
    let handler = t.entry(name).or_insert_with(|| {
        let mut new = Table::new();
        new.decor_mut().set_prefix(format!("\n{MARK}"));
        Item::Table(new)
    });
    let handler = handler
        .as_table_mut()
        .ok_or_else(|| anyhow!("runtime {name:?} is not a table"))?;
    handler.insert("runtime_type", value(RUNTIME_TYPE));
    if let Some(cfg) = shim_config {
        let opts = child(handler, "options", name)?;
        opts.set_implicit(false);
        opts.insert("TypeUrl", value(OPTIONS_TYPE_URL));
        opts.insert("ConfigPath", value(cfg));
    }
    Ok(Added {
        text: doc.to_string(),
        version: ver,
        set_version,
    })
}

/// Remove handler `name` and the header-less tables that held only it.
/// Returns the new text and whether the handler was there.
pub fn remove_handler(text: &str, name: &str) -> Result<(String, bool)> {
    let mut doc = parse(text)?;
    let Some(ver) = version(&doc)? else {
        return Ok((text.to_string(), false));
    };
    let path = runtimes_path(ver)?;
    let removed = remove_under(doc.as_table_mut(), &path, name);
    if !removed {
        return Ok((text.to_string(), false));
    }
    Ok((doc.to_string(), true))
}

/// Remove `name` at the end of `path` below `t`, then prune every implicit
/// table on the way that became empty (only `add_handler` makes those).
fn remove_under(t: &mut Table, path: &[&str], name: &str) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return t.remove(name).is_some();
    };
    let Some(next) = t.get_mut(first).and_then(Item::as_table_mut) else {
        return false;
    };
    let removed = remove_under(next, rest, name);
    if removed && next.is_implicit() && next.is_empty() {
        t.remove(first);
    }
    removed
}

#[cfg(test)]
#[path = "containerd_toml_tests.rs"]
mod tests;
