//! The kernel's identity as `/proc` tells it, in agreement with
//! `uname(2)` ([`crate::kernel::RELEASE`], [`crate::kernel::VERSION`] and
//! the sandbox's host and domain names): `/proc/version`,
//! `/proc/sys/kernel/{osrelease,version,ostype,hostname,domainname}`,
//! `/proc/cmdline` and `/proc/sys/kernel/random/boot_id`. The host's
//! would name its kernel build, its boot parameters (disk UUIDs, the
//! hypervisor's agent) and its boot, which ties containers of one host
//! together.

use std::sync::OnceLock;

use nix::errno::Errno;

use crate::kernel::{Kernel, RELEASE, VERSION};

/// `/proc/version`, in the kernel's `linux_banner` form.
pub fn version() -> String {
    format!("Linux version {RELEASE} (moat@moat) (rustc) {VERSION}\n")
}

/// `/proc/cmdline`: a plain boot line for the sandbox's kernel.
pub fn cmdline() -> String {
    format!("BOOT_IMAGE=/boot/vmlinuz-{RELEASE} ro quiet\n")
}

/// `/proc/sys/kernel/hostname`: the name `uname -n` gives.
pub fn hostname(kernel: &Kernel) -> Result<String, Errno> {
    let name = kernel.hostname.lock().map_err(|_| Errno::EIO)?;
    Ok(format!("{name}\n"))
}

/// `/proc/sys/kernel/domainname`: the name `uname`'s domainname field
/// gives, `(none)` when it is empty, as the kernel writes an unset one.
pub fn domainname(kernel: &Kernel) -> Result<String, Errno> {
    let name = kernel.domainname.lock().map_err(|_| Errno::EIO)?;
    Ok(if name.is_empty() {
        "(none)\n".to_string()
    } else {
        format!("{name}\n")
    })
}

/// `/proc/sys/kernel/random/boot_id`: a random UUID drawn once per
/// sentry, so per sandbox (a pod's containers share their sentry, and
/// their boot, as they share the boot log).
pub fn boot_id() -> Result<String, Errno> {
    static ID: OnceLock<String> = OnceLock::new();
    if let Some(id) = ID.get() {
        return Ok(id.clone());
    }
    let mut b = [0u8; 16];
    getrandom(&mut b)?;
    Ok(ID.get_or_init(|| format!("{}\n", uuid_v4(b))).clone())
}

/// `bytes` as a version 4 (random) UUID, as the kernel writes boot_id.
fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn getrandom(buf: &mut [u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the kernel writes at most `rest.len()` bytes into `rest`,
        // a valid, writable slice.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = Errno::last();
            if e != Errno::EINTR {
                return Err(e);
            }
            continue;
        }
        done += n as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_id_is_a_uuid_drawn_once() {
        let id = boot_id().unwrap();
        assert_eq!(id, boot_id().unwrap());
        let id = id.trim_end();
        let parts: Vec<&str> = id.split('-').collect();
        let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        assert_eq!(lens, [8, 4, 4, 4, 12], "{id}");
        assert!(parts[2].starts_with('4'), "{id}");
        let host = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
        assert_ne!(id, host.trim_end());
    }

    #[test]
    fn identity_agrees_with_uname() {
        assert!(version().starts_with(&format!("Linux version {RELEASE} ")));
        assert!(version().contains(VERSION));
        assert!(cmdline().contains(RELEASE));
        let k = Kernel::new("box", "", None, false);
        assert_eq!(hostname(&k).unwrap(), "box\n");
        assert_eq!(domainname(&k).unwrap(), "(none)\n");
    }
}
