//! sysinfo(2): the host's numbers, with memory the container's where its
//! memory cgroup limits it (the same reading as `/proc/meminfo`), uptime
//! counted from the sandbox's boot, and only sandbox processes.

use nix::errno::Errno;

use super::Call;

pub fn sysinfo(call: &mut Call) -> Result<i64, Errno> {
    // SAFETY: sysinfo fills the zeroed struct we pass and nothing else.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid, writable `struct sysinfo`.
    if unsafe { libc::sysinfo(&mut info) } != 0 {
        return Err(Errno::last());
    }
    let unit = u64::from(info.mem_unit.max(1));
    if let Some(m) = call.kernel.memory() {
        info.totalram = m.total as libc::c_ulong;
        info.freeram = m.free as libc::c_ulong;
        info.sharedram = m.shmem as libc::c_ulong;
        info.bufferram = 0;
    } else {
        info.totalram = (info.totalram as u64 * unit) as libc::c_ulong;
        info.freeram = (info.freeram as u64 * unit) as libc::c_ulong;
        info.sharedram = (info.sharedram as u64 * unit) as libc::c_ulong;
        info.bufferram = (info.bufferram as u64 * unit) as libc::c_ulong;
    }
    info.uptime = call.kernel.boot.elapsed().as_secs() as libc::c_long;
    info.totalswap = 0;
    info.freeswap = 0;
    info.totalhigh = 0;
    info.freehigh = 0;
    info.mem_unit = 1;
    let procs = moat_runtime::proc::descendants(std::process::id() as i32).len();
    info.procs = procs.min(u16::MAX as usize) as u16;
    // SAFETY: viewing a plain-old-data C struct as bytes for copying out.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            &info as *const libc::sysinfo as *const u8,
            std::mem::size_of::<libc::sysinfo>(),
        )
    };
    let addr = call.args[0];
    call.mem()?.write(addr, bytes)?;
    Ok(0)
}
