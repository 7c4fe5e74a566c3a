"""Build minigrad's Cython kernels. Every compiler setting lives in this file.

Each ``_ext/<name>.pyx`` becomes the extension module ``minigrad._ext.<name>``.

Switches (environment variables read at build time):

``MINIGRAD_DEBUG=1``
    Debug build: Cython bounds checks and negative-index wraparound on, ``-O0 -g``.
    Slow; used by CI to run the kernel tests with every index checked.
``MINIGRAD_PORTABLE=1``
    Do not tune for the build machine (no ``-march=native``); the result runs on
    any CPU of the same architecture.
``MINIGRAD_NO_OPENMP=1``
    Build without OpenMP even when the compiler supports it (the kernels then run
    on one thread).

Per-extension flags (``EXTENSION_FLAGS``): ``gaussian_dropout`` is built with
``-ffp-contract=off``, so that no ``a * b + c`` becomes a fused multiply-add: its
normal draws must round exactly as the numpy twin's do. The other kernels keep the
compiler's default (the GEMM micro-kernel relies on FMAs for speed). Its other two
flags only let the loop vectorise (see the design notes of gaussian_dropout.pyx);
none of the three changes a correctly rounded result.

OpenMP is probed by compiling and linking a tiny program. When the compiler
lacks it the build still succeeds, serially, and says so loudly.

Rebuilds: every build configuration has its own build tree, ``build/<key>/``, where
``<key>`` hashes everything that shapes the compiled code: the flags above, the Cython
directives, the Python, numpy and Cython versions and, for ``-march=native``, the
instruction sets the compiler sees on this CPU (its predefined macros, such as
``__AVX512F__``), and the compiler variables of the environment (``CC``, ``CFLAGS``,
...). The generated C and the objects live there, so installing the same
checkout again (``pip install .`` then ``pip install ".[test]"``) reuses the compiled
kernels instead of recompiling them, while a debug build, a portable build or a build on
another CPU gets a tree of its own and never picks up a module compiled for another.
Within one tree, any change to a file under ``_ext/`` (a ``.pyx``, a ``.pxd``, a C
header; compared by content) regenerates all the C, and setuptools recompiles every
module whose C is newer than it.
"""
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
from contextlib import contextmanager
from glob import glob

import Cython
import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools._distutils.ccompiler import new_compiler
from setuptools._distutils.errors import CompileError, LinkError
from setuptools._distutils.sysconfig import customize_compiler

DEBUG = os.environ.get("MINIGRAD_DEBUG", "0") == "1"
PORTABLE = os.environ.get("MINIGRAD_PORTABLE", "0") == "1"
NO_OPENMP = os.environ.get("MINIGRAD_NO_OPENMP", "0") == "1"

#: Extra compile flags of single extensions, added when the compiler accepts them.
EXTENSION_FLAGS = {"gaussian_dropout": ["-ffp-contract=off", "-fno-math-errno",
                                        "-fno-trapping-math"]}

#: Environment variables that setuptools passes on to the compiler and the linker.
COMPILER_ENVIRONMENT = ("CC", "CFLAGS", "CPPFLAGS", "LDSHARED", "LDFLAGS")

OPENMP_PROBE = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 ? 0 : 1;
}
"""


@contextmanager
def probe(source):
    """``(compiler, directory, path)``: the C compiler, and ``source`` written to ``path``
    in a temporary ``directory`` (removed afterwards), for the build's probes below."""
    compiler = new_compiler()
    customize_compiler(compiler)
    tmp = tempfile.mkdtemp(prefix="minigrad-probe-")
    try:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(source)
        yield compiler, tmp, path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def compiler_accepts(compile_args, link_args=(), source="int main(void) { return 0; }\n"):
    """Return True when the C compiler compiles and links ``source`` with these flags."""
    with probe(source) as (compiler, tmp, path):
        try:
            objects = compiler.compile([path], output_dir=tmp,
                                       extra_postargs=list(compile_args))
            compiler.link_executable(objects, "probe", output_dir=tmp,
                                     extra_postargs=list(link_args))
            return True
        except (CompileError, LinkError):
            return False


def build_flags():
    """Compiler and linker flags, and the Cython directives, for this build."""
    if DEBUG:
        compile_args = ["-O0", "-g"]
    else:
        # -g0 overrides the -g that Python's own CFLAGS may carry (pyenv's do): debug
        # information is 80% of each compiled module (1.3 MB instead of 0.25 MB)
        compile_args = ["-O3", "-g0"]
    if not PORTABLE and compiler_accepts(["-march=native"]):
        compile_args.append("-march=native")

    link_args = []
    openmp = False
    if NO_OPENMP:
        print("minigrad: OpenMP disabled by MINIGRAD_NO_OPENMP=1; kernels run serially.")
    elif compiler_accepts(["-fopenmp"], ["-fopenmp"], OPENMP_PROBE):
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
        openmp = True
    else:
        banner = "*" * 72
        print(f"\n{banner}\nminigrad: WARNING: the C compiler does not support OpenMP.\n"
              f"The kernels are built SERIAL: they will use one thread only.\n{banner}\n",
              file=sys.stderr)

    directives = {
        "language_level": 3,
        "boundscheck": DEBUG,
        "wraparound": DEBUG,
        "initializedcheck": DEBUG,
        "cdivision": not DEBUG,
        "embedsignature": True,
    }
    return compile_args, link_args, openmp, directives


def extension_flags(name):
    """The flags of ``EXTENSION_FLAGS[name]`` that the compiler accepts (loudly, if not all)."""
    wanted = EXTENSION_FLAGS.get(name, [])
    accepted = [flag for flag in wanted if compiler_accepts([flag])]
    if accepted != wanted:
        # Compilers without the flag (MSVC) do not contract by default either.
        print(f"minigrad: WARNING: {name}: the compiler refused "
              f"{sorted(set(wanted) - set(accepted))}", file=sys.stderr)
    return accepted


def native_target_macros(compile_args):
    """The compiler's predefined macros under ``-march=native`` (empty without it).

    They name the instruction sets the kernels are compiled for on this CPU
    (``__AVX2__``, ``__AVX512F__``, ...): the part of a native build that the flags
    themselves do not say.
    """
    if "-march=native" not in compile_args:
        return ""
    with probe("int probe;\n") as (compiler, tmp, path):
        output = os.path.join(tmp, "macros.txt")
        try:
            compiler.preprocess(path, output, extra_postargs=["-march=native", "-dM"])
        except CompileError:  # a compiler without -dM: the CPU's model name must do
            return platform.processor() or platform.machine()
        with open(output) as f:
            return "".join(sorted(f))


def build_tree(*settings):
    """``build/<key>``: this build configuration's own directory (see the notes above)."""
    versions = (sys.version, np.__version__, Cython.__version__)
    environment = {name: os.environ.get(name) for name in COMPILER_ENVIRONMENT}
    text = json.dumps([versions, environment, *settings], sort_keys=True, default=str)
    return os.path.join("build", hashlib.sha256(text.encode()).hexdigest()[:16])


def extensions():
    compile_args, link_args, openmp, directives = build_flags()
    # backend_info() reports how the kernels were built; the flags travel as C macros.
    macros = [
        ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
        ("MINIGRAD_COMPILE_ARGS", '"%s"' % " ".join(compile_args)),
        ("MINIGRAD_DEBUG_BUILD", "1" if DEBUG else "0"),
    ]
    names = [os.path.splitext(os.path.basename(path))[0]
             for path in sorted(glob(os.path.join("_ext", "*.pyx")))]
    exts = [
        Extension(
            f"minigrad._ext.{name}",
            [os.path.join("_ext", f"{name}.pyx")],
            include_dirs=[np.get_include(), "_ext"],
            define_macros=macros,
            extra_compile_args=compile_args + extension_flags(name),
            extra_link_args=link_args,
        )
        for name in names
    ]
    print(f"minigrad: building {len(exts)} kernels; flags {' '.join(compile_args)}; "
          f"OpenMP {'on' if openmp else 'OFF'}; debug {'on' if DEBUG else 'off'}")
    tree = build_tree(compile_args, link_args, directives, macros, EXTENSION_FLAGS,
                      native_target_macros(compile_args))
    generated = os.path.join(tree, "cython")
    stamp, digest = os.path.join(generated, "SOURCES.sha256"), sources_digest()
    c_files = [os.path.join(generated, "_ext", f"{name}.c") for name in names]
    if _read(stamp) == digest and all(os.path.isfile(path) for path in c_files):
        # Same sources as the C in this tree: compile from it (setuptools then skips
        # every module already newer than its C file).
        print(f"minigrad: build tree {tree}: reusing its generated C")
        for ext, path in zip(exts, c_files):
            ext.sources = [path]
        return tree, exts
    print(f"minigrad: build tree {tree}: generating C")
    exts = cythonize(exts, compiler_directives=directives, include_path=["_ext"],
                     build_dir=generated, force=True)
    with open(stamp, "w") as f:
        f.write(digest)
    return tree, exts


def sources_digest():
    """A hash of every Cython source and C header under ``_ext/``, names and contents.

    Not their modification times: pip builds in a fresh environment each time, whose
    Cython ships its own ``.pxd`` files, new every time, which would make every module
    look out of date.
    """
    digest = hashlib.sha256()
    sources = [path for pattern in ("*.pyx", "*.pxd", "*.h")
               for path in glob(os.path.join("_ext", pattern))]
    for path in sorted(sources):
        with open(path, "rb") as f:
            digest.update(path.encode() + b"\0" + f.read() + b"\0")
    return digest.hexdigest()


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


TREE, EXTENSIONS = extensions()
# Compile the kernels in parallel, one job per core (pip runs build_ext without -j; each
# kernel is its own compiler process, so the build of ten kernels takes about half as long
# on two cores). An explicit ``build_ext -j N`` on the command line still wins.
setup(ext_modules=EXTENSIONS,
      options={"build": {"build_base": TREE}, "build_ext": {"parallel": os.cpu_count() or 1}})
