//! sethostname(2) and setdomainname(2): change the sandbox's names, which
//! uname(2) reports. Like the kernel: CAP_SYS_ADMIN, at most 64 bytes.

use nix::errno::Errno;
use std::sync::Mutex;

use super::Call;

const CAP_SYS_ADMIN: u32 = 21;
const MAX_LEN: u64 = 64;

pub fn sethostname(call: &mut Call) -> Result<i64, Errno> {
    set(call, &call.kernel.hostname)
}

pub fn setdomainname(call: &mut Call) -> Result<i64, Errno> {
    set(call, &call.kernel.domainname)
}

fn set(call: &mut Call, target: &Mutex<String>) -> Result<i64, Errno> {
    let (addr, len) = (call.args[0], call.args[1]);
    if len > MAX_LEN {
        return Err(Errno::EINVAL);
    }
    if !call.has_cap(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let name = call.mem()?.read(addr, len as usize)?;
    let name = String::from_utf8_lossy(&name)
        .trim_end_matches('\0')
        .to_string();
    call.still_pending()?;
    *target.lock().map_err(|_| Errno::EIO)? = name;
    Ok(0)
}
