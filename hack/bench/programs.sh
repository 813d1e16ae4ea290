# shellcheck shell=bash
# hack/bench/programs.sh: the real-programs section of hack/bench/run.sh
# (sourced by it; uses its RUNTIMES, QUICK, bench_in). Each workload runs in
# a fresh container per runtime, the runtimes interleaved per workload;
# hack/bench/programs-in.sh (piped to `bash -s` in the container) prepares
# the input untimed and prints what it timed. nginx and ab share one
# container (--network=none leaves it loopback only).
if [ "$QUICK" = 1 ]; then
  PROG_REPS=1 GIT_N=300 TAR_N=300 ZLIB_MAKE=deflate.o GREP_PART=lib/python3.11/email PY_N=3 AB_N=500 MT_ITERS=20
else
  PROG_REPS=5 GIT_N=3000 TAR_N=1200 ZLIB_MAKE=test GREP_PART=lib/python3.11 PY_N=20 AB_N=20000 MT_ITERS=200
fi
# shellcheck disable=SC2034 # run.sh prints these rows
PROGRAM_ITEMS=(git_add_commit_ms tar_create_ms tar_extract_ms rm_rf_ms zlib_configure_ms zlib_make_ms
               find_usr_ms grep_r_ms python_imports_ms nginx_rps threads64_calls/s)

programs_describe() {
  cat <<DESC
Real programs (hack/bench/programs-in.sh, Debian 12 image moat-programs), medians of $PROG_REPS, ms unless said:
git_add_commit_ms: git init+add+commit+status+log of a generated $GIT_N-file tree;
tar_create_ms, tar_extract_ms, rm_rf_ms: tar -c, tar -x and rm -rf of a generated $TAR_N-file tree;
zlib_configure_ms, zlib_make_ms: zlib's Debian source, ./configure, then \`make $ZLIB_MAKE\` (one job);
find_usr_ms: find /usr; grep_r_ms: grep -r over /usr/$GREP_PART;
python_imports_ms: python3 -c 'import json, email, http.client', per start-up (of $PY_N);
nginx_rps: nginx (2 workers) serving a 4 KiB static file to ab -n $AB_N -c 8, both in one container, over loopback;
threads64_calls/s: 64 threads together, each stat+open+mkdir+rmdir $MT_ITERS times (static C, hack/bench/sysbench.c).
DESC
}

prog() { # prog RUNTIME WORKLOAD SIZE
  local rt=$1; shift
  bench_in "$rt" -i moat-programs bash -s "$@" < "$MOAT_REPO/hack/bench/programs-in.sh"
}
bench_programs() {
  local w rt
  for _ in $(seq "$PROG_REPS"); do
    for w in "git $GIT_N" "tar $TAR_N" "zlib $ZLIB_MAKE" "find $GREP_PART" "python $PY_N" "nginx $AB_N"; do
      # shellcheck disable=SC2086 # WORKLOAD SIZE are two words
      for rt in "${RUNTIMES[@]}"; do prog "$rt" $w; done
    done
    for rt in "${RUNTIMES[@]}"; do bench_in "$rt" moat-programs sysbench threads 64 "$MT_ITERS" /tmp/mt; done
  done
}
