//! Who answers a supervised call. The container's gofer receives every
//! notification (its workers perform file calls under the caller's
//! credentials); the handler modules named here answer from the sandbox's
//! own state, which the sentry keeps, so the gofer forwards their calls.

/// Handler modules (the table's handler column) the sentry serves.
pub const SENTRY_MODULES: &[&str] = &["uname", "syslog", "sysinfo", "hostname"];

/// Does the sentry (not the gofer) answer calls routed to `handler`?
pub fn served_by_sentry(handler: &str) -> bool {
    SENTRY_MODULES.contains(&handler)
}

/// Handler modules whose calls the gofer continues to the kernel
/// (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`): the kernel checks them as the
/// caller and the sandbox decides nothing (`Route::Continue` in
/// `gofer/src/calls/mod.rs`).
/// The sentry continues them too once a gofer is gone.
///
/// The metadata reads (`stat`, `statfs`, `readlink`, `access`) are here:
/// a worker would make the same call as the caller, in the same mount
/// namespace and root, and nothing the sandbox synthesises has metadata
/// of its own (a synthetic `/proc` file is decided when it is opened), so
/// the kernel answers them for the caller itself, `/proc/self` included.
pub const CONTINUED_MODULES: &[&str] = &[
    "chdir", "chroot", "unix", "fdattr", "exec", "stat", "statfs", "readlink", "access",
];

/// Are calls routed to `handler` continued to the kernel?
pub fn continued(handler: &str) -> bool {
    CONTINUED_MODULES.contains(&handler)
}
