#!/usr/bin/env bash
# Run moat's cargo-fuzz targets (fuzz/):
#   hack/fuzz.sh [--quick] [--time SECONDS] [TARGET...]
# Every target in fuzz/Cargo.toml unless named; each runs for --time
# seconds (default 300, --quick 20) with libFuzzer, on nightly if rustup
# has it, else on stable with RUSTC_BOOTSTRAP=1. The corpus grows in
# fuzz/corpus/TARGET (seeded from fuzz/seeds/TARGET); a crash stops the run
# with its input in fuzz/artifacts/TARGET and exit status 1.
. "$(dirname "$0")/lib.sh"
secs=300
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --quick) secs=20 ;;
    --time) secs=$2; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) targets+=("$1") ;;
  esac
  shift
done
command -v cargo-fuzz >/dev/null || die "cargo-fuzz missing: run hack/deps.sh (cargo install --locked cargo-fuzz)"
cd "$MOAT_REPO/fuzz"
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^moat-fuzz$')
fi
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

for t in "${targets[@]}"; do
  [ -f "fuzz_targets/$t.rs" ] || die "no fuzz target $t (fuzz/fuzz_targets/$t.rs)"
  mkdir -p "corpus/$t"
  seeds=()
  [ -d "seeds/$t" ] && seeds=("seeds/$t")
  log "fuzzing $t for ${secs}s"
  nice -n 10 cargo "${toolchain[@]}" fuzz run "$t" "corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$secs" -print_final_stats=1 2>&1 | tail -n 12
  [ "${PIPESTATUS[0]}" = 0 ] || die "fuzz target $t failed: see fuzz/artifacts/$t"
done
log "fuzzed ${targets[*]}: no crash"
