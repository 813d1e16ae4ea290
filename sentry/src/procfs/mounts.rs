//! `/proc/<pid>/mounts`, `mountinfo` and `mountstats` without host
//! paths. The kernel writes one line per mount of the process's mount
//! namespace, seen from its root (`show_vfsmnt`, `show_mountinfo`,
//! `show_vfsstat`); mount points are container paths already, but three
//! fields name the host:
//!
//! - the root of the mount within its filesystem (mountinfo's 4th field):
//!   the host directory of a `-v /host/dir:/data` volume, Docker's
//!   `/var/lib/docker/containers/<id>/hosts`, a cgroup's host path;
//! - the source: the host's block device (`/dev/vda`) of a volume, a
//!   network file system's server and export;
//! - overlay's super options: `lowerdir=`, `upperdir=`, `workdir=` (the
//!   image layers' host directories), and any other option whose value
//!   is a path.
//!
//! Here, as gVisor shows them, every root is `/`, a source naming a path
//! (a `/` in it) is `none`, an overlay keeps only the mount flags the VFS writes
//! (`rw`/`ro`, `nosuid`, `relatime`...), and other file systems lose the
//! options whose value holds a `/`. `mountstats` keeps its `device ...
//! mounted on ... with fstype ...` lines (the per-mount statistics the
//! kernel adds for NFS name its server and are left out). Mount ids,
//! device numbers, mount points and propagation tags are the kernel's.

/// The options the VFS itself writes for a mount (`show_mnt_opts` and
/// the `rw`/`ro` before them): all an overlay keeps.
const VFS_FLAGS: &[&str] = &[
    "rw",
    "ro",
    "nosuid",
    "nodev",
    "noexec",
    "sync",
    "dirsync",
    "mand",
    "noatime",
    "nodiratime",
    "relatime",
    "strictatime",
    "lazytime",
    "nosymfollow",
];

/// Which of the three tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Mounts,
    Mountinfo,
    Mountstats,
}

impl Table {
    /// The table a `/proc/<pid>/` file name stands for.
    pub fn named(name: &[u8]) -> Option<Table> {
        match name {
            b"mounts" => Some(Table::Mounts),
            b"mountinfo" => Some(Table::Mountinfo),
            b"mountstats" => Some(Table::Mountstats),
            _ => None,
        }
    }

    /// The file's name under `/proc/<pid>/`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Mounts => "mounts",
            Table::Mountinfo => "mountinfo",
            Table::Mountstats => "mountstats",
        }
    }

    /// The kernel's text of this table, scrubbed.
    pub fn scrub(self, text: &str) -> String {
        let line: fn(&str) -> Option<String> = match self {
            Table::Mounts => mounts_line,
            Table::Mountinfo => mountinfo_line,
            Table::Mountstats => mountstats_line,
        };
        let mut out = String::with_capacity(text.len());
        for l in text.lines().filter_map(line) {
            out.push_str(&l);
            out.push('\n');
        }
        out
    }
}

fn source(s: &str) -> &str {
    if s.contains('/') {
        "none"
    } else {
        s
    }
}

/// The options of a mount of `fstype`, those that name the host left out.
fn options(fstype: &str, opts: &str) -> String {
    let keep = |o: &&str| {
        if fstype == "overlay" {
            VFS_FLAGS.contains(o)
        } else {
            !o.contains('/')
        }
    };
    let kept: Vec<&str> = opts.split(',').filter(keep).collect();
    kept.join(",")
}

/// `source mountpoint fstype options 0 0`
fn mounts_line(line: &str) -> Option<String> {
    let f: Vec<&str> = line.split(' ').collect();
    let [src, point, fstype, opts, rest @ ..] = f.as_slice() else {
        return None;
    };
    let mut out = format!("{} {point} {fstype} {}", source(src), options(fstype, opts));
    for r in rest {
        out.push(' ');
        out.push_str(r);
    }
    Some(out)
}

/// `id parent major:minor root mountpoint options [tags...] - fstype
/// source superoptions`
fn mountinfo_line(line: &str) -> Option<String> {
    let f: Vec<&str> = line.split(' ').collect();
    let dash = f.iter().position(|&x| x == "-")?;
    let (head, tail) = f.split_at(dash);
    let [id, parent, dev, _root, point, opts, tags @ ..] = head else {
        return None;
    };
    let [_, fstype, src, sopts, ..] = tail else {
        return None;
    };
    let mut out = format!("{id} {parent} {dev} / {point} {opts}");
    for t in tags {
        out.push(' ');
        out.push_str(t);
    }
    out.push_str(&format!(
        " - {fstype} {} {}",
        source(src),
        options(fstype, sopts)
    ));
    Some(out)
}

/// `device source mounted on mountpoint with fstype fstype [statvers=...]`
fn mountstats_line(line: &str) -> Option<String> {
    let rest = line.strip_prefix("device ")?;
    let (src, rest) = rest.split_once(' ')?;
    let rest = match rest.split_once(" statvers=") {
        Some((head, _)) => head,
        None => rest,
    };
    Some(format!("device {} {rest}", source(src)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OVERLAY: &str = "73 47 0:39 / / rw,relatime master:2 - overlay overlay \
        rw,lowerdir=/var/lib/docker/overlay2/l/Q:/var/lib/docker/overlay2/l/J,\
        upperdir=/var/lib/docker/overlay2/80/diff,workdir=/var/lib/docker/overlay2/80/work,index=off";
    const VOLUME: &str = "84 73 254:0 /tmp/vol /data rw,relatime - ext4 /dev/vda \
        rw,discard,resuid=65534";

    #[test]
    fn mountinfo_keeps_no_host_path() {
        let text = format!("{OVERLAY}\n{VOLUME}\n74 73 0:42 / /proc rw,nosuid - proc proc rw\n");
        assert_eq!(
            Table::Mountinfo.scrub(&text),
            "73 47 0:39 / / rw,relatime master:2 - overlay overlay rw\n\
             84 73 254:0 / /data rw,relatime - ext4 none rw,discard,resuid=65534\n\
             74 73 0:42 / /proc rw,nosuid - proc proc rw\n"
        );
    }

    #[test]
    fn mounts_keep_the_vfs_flags_of_an_overlay() {
        let text = "overlay / overlay rw,relatime,lowerdir=/a:/b,upperdir=/c,workdir=/d 0 0\n\
            /dev/vda /data ext4 ro,relatime,discard 0 0\n\
            tmpfs /dev tmpfs rw,nosuid,size=65536k,mode=755 0 0\n";
        assert_eq!(
            Table::Mounts.scrub(text),
            "overlay / overlay rw,relatime 0 0\n\
             none /data ext4 ro,relatime,discard 0 0\n\
             tmpfs /dev tmpfs rw,nosuid,size=65536k,mode=755 0 0\n"
        );
    }

    #[test]
    fn mountstats_keeps_device_lines() {
        let text = "device overlay mounted on / with fstype overlay\n\
            device srv:/export mounted on /nfs with fstype nfs4 statvers=1.1\n\
            \topts:\trw,addr=10.0.0.1\n\
            device /dev/vda mounted on /data with fstype ext4\n";
        assert_eq!(
            Table::Mountstats.scrub(text),
            "device overlay mounted on / with fstype overlay\n\
             device none mounted on /nfs with fstype nfs4\n\
             device none mounted on /data with fstype ext4\n"
        );
    }
}
