/* The GEMM micro-kernel: an MR x NR tile of C from a packed A panel and a packed B panel.
 *
 * Design notes
 * ------------
 * Everything else in the GEMM (blocking, packing, threads) is Cython in matmul.pyx.
 * This one routine is C because it is the only place where the exact instruction
 * stream matters, and the compiler did not reliably vectorise the equivalent Cython
 * loop. Measured with GCC 12, -O3 -march=native (AVX-512), one thread: the Cython
 * version (acc[i*NR + j] += a[i] * b[j] over a local C array) compiled to the ideal
 * loop for float32 (67-73 GFLOP/s, the same as this file), but for float64 GCC
 * vectorised across the MR rows instead and shuffled the tile with permutes on every
 * k step: 5.5 GFLOP/s against 30 for this kernel (2-3 with MR = 6). GCC/Clang "vector
 * extensions" say what we mean -- "this accumulator is a vector of 16 floats" --
 * without tying the code to one instruction set: the compiler lowers the same source
 * to AVX-512, AVX2, SSE2 or NEON, whichever the build allows (-march=native or not).
 * Compilers without vector extensions get the plain-C loop at the bottom.
 *
 * Tile shape. Per k step the kernel loads NR values of B (two vectors), broadcasts MR
 * values of A, and issues MR x 2 independent vector FMAs into MR x 2 accumulators.
 * Enough independent accumulators hide the FMA latency (4 cycles, 1-2 per cycle), and
 * there must be registers left for the B vectors and the broadcast:
 *   AVX-512 (32 vector registers): MR = 8, two 64-byte vectors -> 16 accumulators;
 *   otherwise (16 registers):       MR = 6, two vectors        -> 12 accumulators.
 *
 * Packed layouts (see pack_a / pack_b in matmul.pyx): A panel element (i, p) at
 * a[p*MR + i]; B panel element (p, j) at b[p*NR + j]. C is row-major with stride ldc.
 * accumulate = 0: C = A@B (overwrite); 1: C += A@B.
 */
#ifndef MINIGRAD_GEMM_MICROKERNEL_H
#define MINIGRAD_GEMM_MICROKERNEL_H

#include <stddef.h>
#include <string.h>
#include <Python.h>   /* Py_ssize_t */

#if defined(__AVX512F__)
#  define MG_VEC_BYTES 64
#  define MG_MR 8
#elif defined(__AVX__)
#  define MG_VEC_BYTES 32
#  define MG_MR 6
#else
#  define MG_VEC_BYTES 16
#  define MG_MR 6
#endif

#define MG_MR_S MG_MR
#define MG_NR_S (2 * MG_VEC_BYTES / 4)
#define MG_MR_D MG_MR
#define MG_NR_D (2 * MG_VEC_BYTES / 8)

#if defined(__GNUC__) || defined(__clang__)

typedef float mg_vs __attribute__((vector_size(MG_VEC_BYTES)));
typedef double mg_vd __attribute__((vector_size(MG_VEC_BYTES)));

/* One body for both precisions: T is the scalar type, V the vector type. memcpy is the
 * portable way to load/store a vector from memory of unknown alignment; it compiles to
 * a single (unaligned) vector move. */
#define MG_DEFINE_KERNEL(NAME, T, V)                                                   \
static inline void NAME(Py_ssize_t kc, const T *a, const T *b, T *c, Py_ssize_t ldc,   \
                        int accumulate)                                                \
{                                                                                      \
    enum { W = MG_VEC_BYTES / sizeof(T), MR = MG_MR };                                 \
    V acc0[MR], acc1[MR];                                                              \
    Py_ssize_t p;                                                                      \
    int i;                                                                             \
    _Pragma("GCC unroll 16")                                                           \
    for (i = 0; i < MR; i++) { acc0[i] = (V){0}; acc1[i] = (V){0}; }                   \
    for (p = 0; p < kc; p++) {                                                         \
        V b0, b1;                                                                      \
        memcpy(&b0, b + p * 2 * W, sizeof(V));                                         \
        memcpy(&b1, b + p * 2 * W + W, sizeof(V));                                     \
        _Pragma("GCC unroll 16")                                                       \
        for (i = 0; i < MR; i++) {                                                     \
            V ai = (V){0} + a[p * MR + i];   /* broadcast */                           \
            acc0[i] += ai * b0;                                                        \
            acc1[i] += ai * b1;                                                        \
        }                                                                              \
    }                                                                                  \
    _Pragma("GCC unroll 16")                                                           \
    for (i = 0; i < MR; i++) {                                                         \
        T *row = c + i * ldc;                                                          \
        if (accumulate) {                                                              \
            V c0, c1;                                                                  \
            memcpy(&c0, row, sizeof(V));                                               \
            memcpy(&c1, row + W, sizeof(V));                                           \
            acc0[i] += c0;                                                             \
            acc1[i] += c1;                                                             \
        }                                                                              \
        memcpy(row, &acc0[i], sizeof(V));                                              \
        memcpy(row + W, &acc1[i], sizeof(V));                                          \
    }                                                                                  \
}

#else  /* plain C: correct everywhere, fast nowhere */

#define MG_DEFINE_KERNEL(NAME, T, V)                                                   \
static inline void NAME(Py_ssize_t kc, const T *a, const T *b, T *c, Py_ssize_t ldc,   \
                        int accumulate)                                                \
{                                                                                      \
    enum { NR = 2 * MG_VEC_BYTES / sizeof(T), MR = MG_MR };                            \
    T acc[MR][NR];                                                                     \
    Py_ssize_t p;                                                                      \
    int i, j;                                                                          \
    for (i = 0; i < MR; i++) for (j = 0; j < NR; j++) acc[i][j] = 0;                   \
    for (p = 0; p < kc; p++)                                                           \
        for (i = 0; i < MR; i++)                                                       \
            for (j = 0; j < NR; j++)                                                   \
                acc[i][j] += a[p * MR + i] * b[p * NR + j];                            \
    for (i = 0; i < MR; i++)                                                           \
        for (j = 0; j < NR; j++)                                                       \
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];      \
}

#endif

MG_DEFINE_KERNEL(mg_kernel_s, float, mg_vs)
MG_DEFINE_KERNEL(mg_kernel_d, double, mg_vd)

#endif /* MINIGRAD_GEMM_MICROKERNEL_H */
