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
