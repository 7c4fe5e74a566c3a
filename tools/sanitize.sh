#!/usr/bin/env bash
# Memory-safety check of the compiled kernels with AddressSanitizer (ASan).
#
#   tools/sanitize.sh                     # kernel tests, fuzz and bad-input matrix
#   tools/sanitize.sh tests/kernels/test_kernels_matmul.py -k trans   # any pytest arguments
#   MINIGRAD_DEBUG=1 tools/sanitize.sh    # ASan on top of the bounds-checked debug build
#
# What it does, without touching the source tree and installing nothing:
#   1. copies setup.py, _ext/, minigrad/ and tests/ into a temporary directory;
#   2. builds the kernels there with  CFLAGS="-fsanitize=address -fno-omit-frame-pointer
#      -g"  LDFLAGS="-fsanitize=address"  (setuptools appends both environment variables
#      to the compile and link commands, after setup.py's own flags), and checks every
#      extension module really is instrumented (it references __asan_report_* symbols);
#   3. runs pytest from that directory with the ASan runtime preloaded into the
#      (uninstrumented) Python interpreter: LD_PRELOAD=$(gcc -print-file-name=libasan.so).
#      ASAN_OPTIONS=detect_leaks=0 because CPython deliberately never frees some memory
#      at exit; PYTHONMALLOC=malloc so Python objects get ASan red zones too.
#
# Any heap/stack/global buffer overflow or use-after-free inside a kernel aborts the run
# with an ASan report (exit status non-zero). Needs gcc with libasan (Debian: libasan8,
# pulled in by gcc) plus the build requirements (Cython, numpy, setuptools) and pytest and
# hypothesis. Takes a few minutes on 2 cores. Set KEEP=1 to keep the temporary directory.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cc="${CC:-gcc}"

libasan="$("$cc" -print-file-name=libasan.so)"
if [ ! -e "$libasan" ]; then
    echo "sanitize: $cc has no libasan.so (got '$libasan'); install it (Debian: apt-get install libasan8)" >&2
    exit 2
fi
libasan="$(readlink -f "$libasan")"

work="$(mktemp -d "${TMPDIR:-/tmp}/minigrad-asan.XXXXXX")"
if [ "${KEEP:-0}" != "1" ]; then
    trap 'rm -rf "$work"' EXIT
fi
echo "sanitize: building in $work (runtime $libasan)"
cp -r "$repo/setup.py" "$repo/_ext" "$repo/minigrad" "$repo/tests" "$work/"
[ -f "$repo/pyproject.toml" ] && cp "$repo/pyproject.toml" "$work/"
find "$work" \( -name '*.so' -o -name '__pycache__' -o -name '*.c' \) -prune -exec rm -rf {} +

cd "$work"
# -fsanitize=address goes into CC, not only CFLAGS: setup.py probes -march=native and
# OpenMP by compiling *and linking a program* with CC (CFLAGS reach that compile, LDFLAGS
# do not reach that link), so with CFLAGS alone every probe fails to link and the
# sanitized build silently drops OpenMP and -march=native. LDFLAGS covers the link of the
# extension modules themselves.
export CC="$cc -fsanitize=address -fno-omit-frame-pointer"
export CFLAGS="-g"
export LDFLAGS="-fsanitize=address"
python setup.py build_ext --inplace > build.log 2>&1 || { tail -40 build.log; exit 1; }
# The flags must reach the compiler: every gcc line of the build log carries them.
if ! grep -q -- "-fsanitize=address" build.log; then
    echo "sanitize: -fsanitize=address does not appear in the compile commands" >&2
    exit 1
fi
n_so=0
for so in minigrad/_ext/*.so; do
    n_so=$((n_so + 1))
    symbols="$(nm -D --undefined-only "$so")"   # (not piped into grep -q: SIGPIPE + pipefail)
    if ! grep -q "__asan_report_load" <<< "$symbols"; then
        echo "sanitize: $so is not instrumented by ASan" >&2
        exit 1
    fi
done
echo "sanitize: $n_so extension modules built and instrumented ($(grep -c -- '-fsanitize=address' build.log) compile/link commands with -fsanitize=address)"
unset CC CFLAGS LDFLAGS

if [ "$#" -eq 0 ]; then
    set -- tests/kernels/test_kernels_*.py tests/*/test_bad_input_*.py
fi
export LD_PRELOAD="$libasan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export PYTHONMALLOC=malloc
export MINIGRAD_REQUIRE_COMPILED=1
export PYTHONPATH="$work"
python -c "import minigrad, sys; info = minigrad.backend_info(); \
assert info['compiled_available'] == sorted(info['kernels']), info; \
print('sanitize: kernels', info['kernels'], '| openmp', info['openmp'], '| flags', \
info['compile_args'], '| debug build', info['debug_build'], '| from', minigrad.__file__)"
python -m pytest -q -p no:cacheprovider "$@"
echo "sanitize: clean (no AddressSanitizer report)"
