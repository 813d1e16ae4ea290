#!/usr/bin/env bash
# CPython's regression tests (test_os, test_posix, test_shutil, test_pathlib,
# test_glob, test_tempfile, test_fileio, test_io, test_stat, test_filecmp,
# test_zipfile) under runc and moat, every module as root and as uid 1000:
# tests/tests/cpython.rs, showing the table comparing them. MOAT_TEST_RUNTIME
# picks the moat runtime (default moat); MOAT_CPYTHON=test_os,test_io runs
# only those modules.
. "$(dirname "$0")/lib.sh"
need_root
cd "$MOAT_REPO"
cargo test -p moat-tests --test cpython -- --nocapture
