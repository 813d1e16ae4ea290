//! runc-compatible logging for moat's binaries (owned by the CLI work; see init()).
