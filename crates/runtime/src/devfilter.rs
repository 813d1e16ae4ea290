//! Device rules on cgroup v2. v2 has no devices controller: the kernel
//! asks a `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the cgroup
//! whether an open or mknod of a device node may go on. This module turns
//! `linux.resources.devices` into such a program and attaches it.
//!
//! The rules mean what they mean on v1's `devices.allow`/`devices.deny`:
//! they apply in order, a rule for every device (`a`, any major and minor,
//! `rwm`) resets the list and sets the default, and otherwise the last
//! rule that matches a request decides. The program checks the remaining
//! rules from the last to the first and falls back to the default.
//!
//! The program is attached without `BPF_F_ALLOW_MULTI`, so attaching
//! again (an update) replaces it; it lives as long as the cgroup does.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::{Error, Result};

/// `bpf_cgroup_dev_ctx.access_type`: the device type in the low 16 bits,
/// the access in the high ones.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;

/// One rule as the program checks it; `None` matches anything.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    allow: bool,
    typ: Option<i32>,
    major: Option<i32>,
    minor: Option<i32>,
    access: i32,
}

impl Rule {
    /// `None` for rules that name no device (`p`, fifos: the kernel
    /// never asks about them).
    fn of(d: &LinuxDeviceCgroup) -> Option<Rule> {
        let typ = match d.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => None,
            LinuxDeviceType::B => Some(DEV_BLOCK),
            LinuxDeviceType::C | LinuxDeviceType::U => Some(DEV_CHAR),
            LinuxDeviceType::P => return None,
        };
        let access = match d.access().as_deref() {
            None | Some("") => ACC_ALL,
            Some(a) => a.chars().fold(0, |acc, c| {
                acc | match c {
                    'r' => ACC_READ,
                    'w' => ACC_WRITE,
                    'm' => ACC_MKNOD,
                    _ => 0,
                }
            }),
        };
        let num = |n: Option<i64>| n.filter(|n| *n >= 0).map(|n| n as i32);
        Some(Rule {
            allow: d.allow(),
            typ,
            major: num(d.major()),
            minor: num(d.minor()),
            access,
        })
    }

    fn is_everything(&self) -> bool {
        self.typ.is_none() && self.major.is_none() && self.minor.is_none() && self.access == ACC_ALL
    }
}

/// The default and the rules left after the last rule for everything.
fn effective(rules: &[LinuxDeviceCgroup]) -> (bool, Vec<Rule>) {
    let mut default = true;
    let mut list = Vec::new();
    for r in rules.iter().filter_map(Rule::of) {
        if r.is_everything() {
            default = r.allow;
            list.clear();
        } else {
            list.push(r);
        }
    }
    (default, list)
}

/// One eBPF instruction, as `struct bpf_insn` lays it out.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

const LDX_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const MOV32_X: u8 = 0xbc;
const MOV64_K: u8 = 0xb7;
const AND32_K: u8 = 0x54;
const RSH32_K: u8 = 0x74;
const JNE_K: u8 = 0x55;
const JNE_X: u8 = 0x5d;
const EXIT: u8 = 0x95;

/// The program: r3 = type, r4 = access, r5 = major, r6 = minor; one
/// block per rule, last rule first; each block jumps past itself when its
/// rule does not match.
fn program(default: bool, rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(MOV32_X, 3, 2, 0, 0),
        insn(AND32_K, 3, 0, 0, 0xffff),
        insn(MOV32_X, 4, 2, 0, 0),
        insn(RSH32_K, 4, 0, 0, 16),
        insn(LDX_W, 5, 1, 4, 0),
        insn(LDX_W, 6, 1, 8, 0),
    ];
    for r in rules.iter().rev() {
        p.extend(block(r));
    }
    p.push(insn(MOV64_K, 0, 0, 0, i32::from(default)));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

fn block(r: &Rule) -> Vec<Insn> {
    // Jumps are written with offset 0 and pointed past the block at the end.
    let mut b = Vec::new();
    if let Some(t) = r.typ {
        b.push(insn(JNE_K, 3, 0, 0, t));
    }
    if r.access != ACC_ALL {
        // The access asked for must be within the rule's.
        b.push(insn(MOV32_X, 7, 4, 0, 0));
        b.push(insn(AND32_K, 7, 0, 0, r.access));
        b.push(insn(JNE_X, 7, 4, 0, 0));
    }
    if let Some(m) = r.major {
        b.push(insn(JNE_K, 5, 0, 0, m));
    }
    if let Some(m) = r.minor {
        b.push(insn(JNE_K, 6, 0, 0, m));
    }
    b.push(insn(MOV64_K, 0, 0, 0, i32::from(r.allow)));
    b.push(insn(EXIT, 0, 0, 0, 0));
    let len = b.len();
    for (i, ins) in b.iter_mut().enumerate() {
        if ins.code == JNE_K || ins.code == JNE_X {
            ins.off = (len - i - 1) as i16;
        }
    }
    b
}

/// `union bpf_attr` for BPF_PROG_LOAD, up to the fields moat sets.
#[repr(C)]
#[derive(Default)]
struct LoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` for BPF_PROG_ATTACH.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, properly laid out bpf_attr prefix of
    // size_of::<T>() bytes; the kernel reads (and for a log, writes
    // through pointers we set to live buffers) only within it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn load(insns: &[Insn]) -> Result<OwnedFd> {
    let license = c"Apache-2.0";
    let mut log = Vec::new();
    let attempt = |log: &mut Vec<u8>| {
        let mut attr = LoadAttr {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level: u32::from(!log.is_empty()),
            log_size: log.len() as u32,
            // The kernel refuses a buffer without a log level, and the reverse.
            log_buf: if log.is_empty() {
                0
            } else {
                log.as_mut_ptr() as u64
            },
            ..Default::default()
        };
        attr.prog_name[..6].copy_from_slice(b"moatdv");
        bpf(BPF_PROG_LOAD, &mut attr)
    };
    match attempt(&mut log) {
        // SAFETY: BPF_PROG_LOAD returned a new descriptor we now own.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => {
            // Once more with the verifier's log, for the message.
            log = vec![0u8; 1 << 16];
            let _ = attempt(&mut log);
            let text = String::from_utf8_lossy(&log);
            let text = text.trim_end_matches('\0').trim();
            Err(Error::Other(format!(
                "loading the device filter: {e}{}{text}",
                if text.is_empty() { "" } else { ": " }
            )))
        }
    }
}

/// Attach the program for `rules` to the v2 cgroup directory `dir`,
/// replacing any program moat attached before.
pub fn attach(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let (default, list) = effective(rules);
    let prog = load(&program(default, &list))?;
    let path = CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::Other(format!("cgroup path {} has a NUL", dir.display())))?;
    // SAFETY: open(2) of a NUL-terminated path; the result is checked.
    let cg = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if cg < 0 {
        return Err(Error::Other(format!(
            "opening cgroup {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: open returned a new descriptor we now own.
    let cg = unsafe { OwnedFd::from_raw_fd(cg) };
    let mut attr = AttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(|e| {
        Error::Other(format!(
            "attaching the device filter to {}: {e}",
            dir.display()
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_rule_for_everything_resets_the_list() {
        let r = rules(
            r#"[{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rw"},
                {"allow": true, "type": "p", "access": "rwm"}]"#,
        );
        let (default, list) = effective(&r);
        assert!(!default);
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0].minor, Some(5));
        assert_eq!(list[0].access, ACC_READ | ACC_WRITE);
        assert_eq!(effective(&[]), (true, vec![]));
    }

    #[test]
    fn jumps_land_past_their_block() {
        let r = Rule {
            allow: true,
            typ: Some(DEV_CHAR),
            major: Some(136),
            minor: None,
            access: ACC_READ,
        };
        let b = block(&r);
        // type, 3 for access, major, then r0 and exit.
        assert_eq!(b.len(), 7);
        for (i, ins) in b.iter().enumerate() {
            if ins.code == JNE_K || ins.code == JNE_X {
                assert_eq!(i + 1 + ins.off as usize, b.len());
            }
        }
        let p = program(false, &[r]);
        assert_eq!(p.last().unwrap().code, EXIT);
        assert_eq!(p[p.len() - 2].imm, 0, "the default is deny");
    }
}
