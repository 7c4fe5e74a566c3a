/* The GEMM micro-kernel: an MR x NR tile of C from a packed A panel and a packed B panel
 * (plus a 4 x 4 float transpose used when packing a transposed B).
 *
 * Design notes
 * ------------
 * Everything else in the GEMM (blocking, packing, threads) is Cython in matmul.pyx.
 * These two routines are C because they are where the exact instruction stream
 * matters, and the compiler did not reliably vectorise the equivalent Cython loops.
 * With GCC 12, -O3 -march=native (AVX-512), the Cython micro-kernel (acc[i*NR + j] +=
 * a[i] * b[j] over a local C array) compiled to the ideal loop for float32, as fast as
 * this file, but for float64 GCC vectorised across the MR rows instead and shuffled the
 * tile with permutes on every k step, several times slower than this kernel (measured:
 * docs/KERNELS.md). GCC/Clang "vector extensions" say what we mean -- "this
 * accumulator is a vector of 16 floats" -- without tying the code to one instruction
 * set: the compiler lowers the same source to AVX-512, AVX2, SSE2 or NEON, whichever
 * the build allows (-march=native or not).
 * Compilers without vector extensions get the plain-C loops (also selected by
 * defining MG_PLAIN_C, to test that path: build a copy of matmul.pyx with it).
 *
 * Tile shape. Per k step the kernel loads NR values of B (NV vectors), broadcasts MR
 * values of A, and issues MR x NV independent vector FMAs into MR x NV accumulators.
 * Enough independent accumulators hide the FMA latency (4 cycles, 1-2 per cycle); the
 * more FMAs per load (broadcasts are loads too), the closer to the FMA limit; and there
 * must be registers left for the B vectors and the broadcast:
 *   AVX-512 (32 vector registers): MR = 6, NV = 4 (NR = 64 floats / 32 doubles):
 *       24 accumulators + 4 B vectors + 1 broadcast = 29 registers, 10 loads per 24 FMAs;
 *   otherwise (16 registers):       MR = 6, NV = 2: 12 accumulators, 15 registers.
 * MR x NR = 6 x 64 was chosen by measurement against 8 x 32, 12 x 32, 8 x 48 and 4 x 64,
 * at the MLP's shapes, float32, one thread, on the Zen 4 machine it was tuned on:
 * docs/KERNELS.md.
 *
 * The broadcast is written ``a[...] - (V){0}``: x - 0 is x for every x, so the compiler
 * emits one vbroadcastss from memory. The obvious ``(V){0} + a[...]`` is not x for
 * x = -0.0 (0 + -0 = +0), so GCC kept a scalar add and a register broadcast in the
 * loop, on the path from the load to every FMA: measured on a Zen 1 (AVX2), 16-18
 * GFLOP/s instead of 32-36 at the MLP's shapes, one thread (40 is the FMA limit).
 * C's rows are prefetched before the loop, for the store (or the accumulation) after it.
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

/* MG_MR rows x MG_NV vectors per row; both may be overridden at build time (-D) for
 * tuning experiments. */
#if defined(__AVX512F__)
#  define MG_VEC_BYTES 64
#  define MG_NV_DEFAULT 4
#elif defined(__AVX__)
#  define MG_VEC_BYTES 32
#  define MG_NV_DEFAULT 2
#else
#  define MG_VEC_BYTES 16
#  define MG_NV_DEFAULT 2
#endif
#ifndef MG_MR
#  define MG_MR 6
#endif
#ifndef MG_NV
#  define MG_NV MG_NV_DEFAULT
#endif

#define MG_MR_S MG_MR
#define MG_NR_S (MG_NV * MG_VEC_BYTES / 4)
#define MG_MR_D MG_MR
#define MG_NR_D (MG_NV * MG_VEC_BYTES / 8)

#if (defined(__GNUC__) || defined(__clang__)) && !defined(MG_PLAIN_C)

typedef float mg_vs __attribute__((vector_size(MG_VEC_BYTES)));
typedef double mg_vd __attribute__((vector_size(MG_VEC_BYTES)));

/* One body for both precisions: T is the scalar type, V the vector type. memcpy is the
 * portable way to load/store a vector from memory of unknown alignment; it compiles to
 * a single (unaligned) vector move. */
#define MG_DEFINE_KERNEL(NAME, T, V, ROWS)                                             \
static inline void NAME(Py_ssize_t kc, const T *a, const T *b, T *c, Py_ssize_t ldc,   \
                        int accumulate)                                                \
{                                                                                      \
    enum { W = MG_VEC_BYTES / sizeof(T), MR = MG_MR, NV = MG_NV };                     \
    V acc[ROWS][NV];                                                                   \
    Py_ssize_t p;                                                                      \
    int i, v;                                                                          \
    _Pragma("GCC unroll 16")                                                           \
    for (i = 0; i < ROWS; i++)                                                         \
        _Pragma("GCC unroll 4")                                                        \
        for (v = 0; v < NV; v++) acc[i][v] = (V){0};                                   \
    _Pragma("GCC unroll 16")                                                           \
    for (i = 0; i < ROWS; i++) __builtin_prefetch(c + i * ldc, 1, 3);                  \
    _Pragma("GCC unroll 4")                                                            \
    for (p = 0; p < kc; p++) {                                                         \
        V bv[NV];                                                                      \
        _Pragma("GCC unroll 4")                                                        \
        for (v = 0; v < NV; v++) memcpy(&bv[v], b + (p * NV + v) * W, sizeof(V));      \
        _Pragma("GCC unroll 16")                                                       \
        for (i = 0; i < ROWS; i++) {                                                   \
            V ai = a[p * MR + i] - (V){0};   /* broadcast (notes above) */             \
            _Pragma("GCC unroll 4")                                                    \
            for (v = 0; v < NV; v++) acc[i][v] += ai * bv[v];                          \
        }                                                                              \
    }                                                                                  \
    _Pragma("GCC unroll 16")                                                           \
    for (i = 0; i < ROWS; i++) {                                                       \
        _Pragma("GCC unroll 4")                                                        \
        for (v = 0; v < NV; v++) {                                                     \
            T *dst = c + i * ldc + v * W;                                              \
            if (accumulate) {                                                          \
                V old;                                                                 \
                memcpy(&old, dst, sizeof(V));                                          \
                acc[i][v] += old;                                                      \
            }                                                                          \
            memcpy(dst, &acc[i][v], sizeof(V));                                        \
        }                                                                              \
    }                                                                                  \
}

#else  /* plain C: correct everywhere, fast nowhere */

#define MG_DEFINE_KERNEL(NAME, T, V, ROWS)                                             \
static inline void NAME(Py_ssize_t kc, const T *a, const T *b, T *c, Py_ssize_t ldc,   \
                        int accumulate)                                                \
{                                                                                      \
    enum { NR = MG_NV * MG_VEC_BYTES / sizeof(T), MR = MG_MR };                        \
    T acc[ROWS][NR];                                                                   \
    Py_ssize_t p;                                                                      \
    int i, j;                                                                          \
    for (i = 0; i < ROWS; i++) for (j = 0; j < NR; j++) acc[i][j] = 0;                 \
    for (p = 0; p < kc; p++)                                                           \
        for (i = 0; i < ROWS; i++)                                                     \
            for (j = 0; j < NR; j++)                                                   \
                acc[i][j] += a[p * MR + i] * b[p * NR + j];                            \
    for (i = 0; i < ROWS; i++)                                                         \
        for (j = 0; j < NR; j++)                                                       \
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];      \
}

#endif

/* The full tile, and tiles of fewer rows for the last panel of a block (m = 32 is five
 * panels of 6 rows and one of 2): written straight into C like a full tile, without the
 * scratch tile and the FMAs of the zero rows. Rows read A at the panel's stride MR. */
#if MG_MR > 8
#  error "MG_MR > 8: define the partial-tile kernels for the extra row counts"
#endif
#define MG_DEFINE_KERNELS(NAME, T, V)                                                  \
    MG_DEFINE_KERNEL(NAME, T, V, MG_MR)                                                \
    MG_DEFINE_KERNEL(NAME##_1, T, V, 1) MG_DEFINE_KERNEL(NAME##_2, T, V, 2)            \
    MG_DEFINE_KERNEL(NAME##_3, T, V, 3) MG_DEFINE_KERNEL(NAME##_4, T, V, 4)            \
    MG_DEFINE_KERNEL(NAME##_5, T, V, 5) MG_DEFINE_KERNEL(NAME##_6, T, V, 6)            \
    MG_DEFINE_KERNEL(NAME##_7, T, V, 7)                                                \
/* the first ``rows`` (1 <= rows < MG_MR) rows of the tile */                          \
static inline void NAME##_rows(int rows, Py_ssize_t kc, const T *a, const T *b, T *c,  \
                               Py_ssize_t ldc, int accumulate)                         \
{                                                                                      \
    switch (rows) {                                                                    \
    case 1: NAME##_1(kc, a, b, c, ldc, accumulate); break;                             \
    case 2: NAME##_2(kc, a, b, c, ldc, accumulate); break;                             \
    case 3: NAME##_3(kc, a, b, c, ldc, accumulate); break;                             \
    case 4: NAME##_4(kc, a, b, c, ldc, accumulate); break;                             \
    case 5: NAME##_5(kc, a, b, c, ldc, accumulate); break;                             \
    case 6: NAME##_6(kc, a, b, c, ldc, accumulate); break;                             \
    default: NAME##_7(kc, a, b, c, ldc, accumulate); break;                            \
    }                                                                                  \
}

MG_DEFINE_KERNELS(mg_kernel_s, float, mg_vs)
MG_DEFINE_KERNELS(mg_kernel_d, double, mg_vd)

/* dst[p][j] = src[j][p] for a 4 x 4 block of floats (row strides lds, ldd): the inner
 * step of packing a transposed B. Four vector loads, eight shuffles, four stores,
 * instead of sixteen scalar loads and stores (GCC did not vectorise the scalar loop,
 * which left B-transposed products slower than the untransposed form; with this one
 * they run at the same speed: docs/KERNELS.md). */
#if (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)) && !defined(MG_PLAIN_C)
typedef float mg_v4sf __attribute__((vector_size(16)));
static inline void mg_transpose4x4_s(const float *src, Py_ssize_t lds, float *dst,
                                     Py_ssize_t ldd)
{
    mg_v4sf r0, r1, r2, r3, t0, t1, t2, t3, o0, o1, o2, o3;
    memcpy(&r0, src, 16); memcpy(&r1, src + lds, 16);
    memcpy(&r2, src + 2 * lds, 16); memcpy(&r3, src + 3 * lds, 16);
    t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5);   /* r0[0] r1[0] r0[1] r1[1] */
    t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
    t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
    t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
    o0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);   /* column 0 of the block */
    o1 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    o2 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
    o3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
    memcpy(dst, &o0, 16); memcpy(dst + ldd, &o1, 16);
    memcpy(dst + 2 * ldd, &o2, 16); memcpy(dst + 3 * ldd, &o3, 16);
}
#else
static inline void mg_transpose4x4_s(const float *src, Py_ssize_t lds, float *dst,
                                     Py_ssize_t ldd)
{
    int p, j;
    for (p = 0; p < 4; p++)
        for (j = 0; j < 4; j++)
            dst[p * ldd + j] = src[j * lds + p];
}
#endif

#endif /* MINIGRAD_GEMM_MICROKERNEL_H */
