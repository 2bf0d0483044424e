#!/usr/bin/env bash
# Sanitizer runs, called by .ci/run after the main ctest (a failure here makes CI fail):
#  1. AddressSanitizer + UndefinedBehaviorSanitizer (clang, -O1): gemma4_tests and the fuzz replayers built in
#     build-asan/, the unit tests run (less the filter below) and every fuzz corpus replayed.
#  2. ThreadSanitizer: the thread pool's test (tests/sanitize/thread_pool_tsan_test.cc), compiled with the
#     sources it needs, plus every test listed in TSAN_TESTS below.
# Usage: tests/sanitize/run_sanitizers.sh [asan|tsan|all]   (default all; GEMMA4_SANITIZE_JOBS sets ninja -j)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
what=${1:-all}
jobs=${GEMMA4_SANITIZE_JOBS:-2}
command -v clang++ >/dev/null || { echo "run_sanitizers: clang++ is missing (./setup.sh installs clang)"; exit 1; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

# Unit tests left out under ASan, and why:
#  - Presets.Architecture31BAllocatesNoWeights caps the address space with setrlimit(RLIMIT_AS); ASan's shadow
#    memory reserves terabytes of address space, so the cap cannot work under it.
#  - Weights/DecodeAllocations.* count heap allocations per decode step through a replaced global operator new;
#    the clang build runs every kernel on its portable path (fuzz/cpu_features_portable.cc), which is not the
#    allocation-free AVX2/AVX-512 path that test guards (the Release ctest runs it).
#  - RealTokenizer.LoadsFastAndMatchesHuggingFace asserts a load time (5 s) that ASan's slowdown breaks.
#  - *Bench* / *Slow*: timing runs, none today; kept out should any appear.
# The kernel tests that need AVX2/AVX-512 skip themselves in this build for the same reason.
# Adjust with GEMMA4_ASAN_FILTER (a --gtest_filter value).
asan_filter=${GEMMA4_ASAN_FILTER:-"-*Bench*:*Slow*:Presets.Architecture31BAllocatesNoWeights:Weights/DecodeAllocations.*:RealTokenizer.LoadsFastAndMatchesHuggingFace"}

# ThreadSanitizer tests: "source.cc:library sources it needs" (paths from the repository root). The serving
# scheduler's tests go here once it exists (src/serve/scheduler*): e.g.
#   "tests/sanitize/scheduler_tsan_test.cc:src/serve/scheduler.cc src/core/thread_pool.cc"
TSAN_TESTS=(
  "tests/sanitize/thread_pool_tsan_test.cc:src/core/thread_pool.cc"
)

run_asan() {
  local build="$ROOT/build-asan"
  local start=$SECONDS
  echo "== ASan+UBSan build ($build)"
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DGEMMA4_SANITIZE=address,undefined "${launcher[@]}" >/dev/null
  local replayers=()
  for target in $(sed -n '/^set(GEMMA4_FUZZ_TARGETS/,/)/p' fuzz/CMakeLists.txt | tr -d '()' | sed 's/setGEMMA4_FUZZ_TARGETS//'); do
    replayers+=("replay_$target")
  done
  ninja -C "$build" -j"$jobs" gemma4_tests "${replayers[@]}" | grep -vE '^\[[0-9]+/[0-9]+\] ' || true
  [[ -x "$build/bin/gemma4_tests" ]] || { echo "FAIL: the ASan build did not produce gemma4_tests"; return 1; }
  echo "   built in $((SECONDS - start)) s"
  # allocator_may_return_null: libhdf5 (not ours, not instrumented) asks malloc for whatever size a damaged file's
  # metadata gives and handles a NULL as an error; our own code's operator new still reports any such size.
  # alloc_dealloc_mismatch=0: tests/unit/decode_allocation_test.cc replaces the global operator new/delete (to
  # count allocations) but not the nothrow forms std::stable_sort's buffer uses, so ASan's nothrow new meets the
  # test's delete; the pairing is the test's, not the library's.
  export ASAN_OPTIONS="alloc_dealloc_mismatch=0:allocator_may_return_null=1:detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=0"
  export LSAN_OPTIONS="suppressions=$ROOT/fuzz/lsan_hdf5.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  start=$SECONDS
  echo "== unit tests under ASan+UBSan (filter $asan_filter)"
  (cd "$build" && ./bin/gemma4_tests --gtest_brief=1 --gtest_filter="$asan_filter")
  echo "   ran in $((SECONDS - start)) s"
  start=$SECONDS
  echo "== fuzz corpora replayed under ASan+UBSan"
  ctest --test-dir "$build" -R '^fuzz_replay\.' --output-on-failure -j"$jobs" | tail -n 3
  echo "   replayed in $((SECONDS - start)) s"
}

run_tsan() {
  local out="$ROOT/build-tsan"
  mkdir -p "$out"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  for entry in "${TSAN_TESTS[@]}"; do
    local test_source=${entry%%:*}
    local sources=${entry#*:}
    local binary="$out/$(basename "${test_source%.cc}")"
    echo "== ThreadSanitizer: $test_source"
    # shellcheck disable=SC2086
    clang++ -std=c++20 -O1 -g -fsanitize=thread -fno-omit-frame-pointer -I src -I include \
      "$test_source" $sources -o "$binary" -pthread
    "$binary"
  done
}

case $what in
  asan) run_asan ;;
  tsan) run_tsan ;;
  all) run_tsan; run_asan ;;
  *) echo "usage: $0 [asan|tsan|all]"; exit 2 ;;
esac
echo "run_sanitizers: passed"
