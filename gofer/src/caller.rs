//! Who called: the calling thread's credentials and pid-namespace ids,
//! read from its `/proc/<tid>/status` in the host's procfs, once per call
//! (they change whenever the caller calls `setuid`, `setgroups`, `umask`
//! or `capset`, natively).

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;

/// What the kernel checks a file call against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Creds {
    pub ruid: u32,
    pub rgid: u32,
    pub fsuid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
    pub effective: u64,
    pub permitted: u64,
    pub umask: u32,
}

/// The caller: credentials and ids.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub creds: Creds,
    /// Its process and thread ids in its own pid namespace (what
    /// `/proc/self` and `/proc/thread-self` name there).
    pub ns_tgid: u32,
    pub ns_tid: u32,
}

impl Caller {
    /// Read thread `tid`'s status through `proc` (the host's procfs).
    pub fn read(proc: BorrowedFd, tid: u32) -> Result<Caller, Errno> {
        let path = std::ffi::CString::new(format!("{tid}/status")).map_err(|_| Errno::EINVAL)?;
        let fd = crate::sys::openat(proc.as_raw_fd(), &path, libc::O_RDONLY, 0)
            .map_err(|_| Errno::ESRCH)?;
        let text = std::io::read_to_string(std::fs::File::from(fd)).map_err(|_| Errno::ESRCH)?;
        parse(&text).ok_or(Errno::ESRCH)
    }
}

fn parse(text: &str) -> Option<Caller> {
    let mut c = Caller::default();
    let mut seen = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let nums = || value.split_whitespace().map(|v| v.parse::<u32>().ok());
        match key {
            "Umask" => c.creds.umask = u32::from_str_radix(value.trim(), 8).ok()?,
            "Uid" => {
                let v: Vec<u32> = nums().collect::<Option<_>>()?;
                (c.creds.ruid, c.creds.fsuid) = (*v.first()?, *v.get(3)?);
            }
            "Gid" => {
                let v: Vec<u32> = nums().collect::<Option<_>>()?;
                (c.creds.rgid, c.creds.fsgid) = (*v.first()?, *v.get(3)?);
            }
            "Groups" => c.creds.groups = nums().collect::<Option<_>>()?,
            "NStgid" => c.ns_tgid = nums().last()??,
            "NSpid" => c.ns_tid = nums().last()??,
            "CapPrm" => c.creds.permitted = u64::from_str_radix(value.trim(), 16).ok()?,
            "CapEff" => c.creds.effective = u64::from_str_radix(value.trim(), 16).ok()?,
            _ => continue,
        }
        seen += 1;
    }
    (seen >= 8).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_status() {
        let proc = std::fs::File::open("/proc").unwrap();
        let me = nix::unistd::gettid().as_raw() as u32;
        let c = Caller::read(std::os::fd::AsFd::as_fd(&proc), me).unwrap();
        assert_eq!(c.creds.fsuid, nix::unistd::geteuid().as_raw());
        assert_eq!(c.ns_tid, me);
        assert_eq!(c.ns_tgid, std::process::id());
    }

    #[test]
    fn parses_the_fields_it_needs() {
        let text = "Name:\tsh\nUmask:\t0027\nNStgid:\t900\t7\nNSpid:\t901\t8\n\
                    Uid:\t1000\t1000\t1000\t1001\nGid:\t100\t100\t100\t101\nGroups:\t4 24 \n\
                    CapPrm:\t0000000000000000\nCapEff:\t00000000a80425fb\n";
        let c = parse(text).unwrap();
        assert_eq!((c.ns_tgid, c.ns_tid), (7, 8));
        assert_eq!((c.creds.ruid, c.creds.fsuid, c.creds.fsgid), (1000, 1001, 101));
        assert_eq!(c.creds.groups, vec![4, 24]);
        assert_eq!(c.creds.umask, 0o027);
        assert_eq!(c.creds.effective, 0xa80425fb);
        assert!(parse("Name:\tsh\n").is_none());
    }
}
