//! Test support: see tests/tests/*.rs
