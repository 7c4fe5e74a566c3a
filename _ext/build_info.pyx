"""How the kernels were compiled: OpenMP, SIMD level, flags. Read by minigrad.backend_info()."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define MG_OPENMP 1
    static int mg_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    #define MG_OPENMP 0
    static int mg_omp_max_threads(void) { return 1; }
    #endif
    #if defined(__AVX512F__)
    #define MG_SIMD "AVX-512F"
    #elif defined(__AVX2__) && defined(__FMA__)
    #define MG_SIMD "AVX2+FMA"
    #elif defined(__AVX2__)
    #define MG_SIMD "AVX2"
    #elif defined(__AVX__)
    #define MG_SIMD "AVX"
    #elif defined(__SSE2__)
    #define MG_SIMD "SSE2"
    #elif defined(__ARM_NEON)
    #define MG_SIMD "NEON"
    #else
    #define MG_SIMD "none"
    #endif
    """
    int MG_OPENMP
    const char* MG_SIMD
    const char* MINIGRAD_COMPILE_ARGS
    int MINIGRAD_DEBUG_BUILD
    int mg_omp_max_threads()


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(MG_OPENMP)


def openmp_max_threads():
    """OpenMP's default team size (1 without OpenMP)."""
    return mg_omp_max_threads()


def simd_level():
    """The widest SIMD instruction set the compiler was allowed to use."""
    return MG_SIMD.decode()


def compile_args():
    """The C compiler flags the kernels were built with."""
    return MINIGRAD_COMPILE_ARGS.decode()


def debug_build():
    """True for a MINIGRAD_DEBUG=1 build (bounds checks on)."""
    return bool(MINIGRAD_DEBUG_BUILD)
