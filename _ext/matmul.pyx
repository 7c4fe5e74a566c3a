"""GEMM: ``out = op(a) @ op(b)`` for float32/float64, the BLIS/GotoBLAS way.

Design notes
============

Why not three nested loops? A naive ``i, j, k`` loop re-reads the same rows of A and
columns of B from main memory over and over and keeps almost nothing in registers; it
runs at a small fraction of the FMA units' throughput. A fast GEMM arranges the work
so that every level of the memory hierarchy is reused as much as possible
(Goto & van de Geijn, "Anatomy of high-performance matrix multiplication", ACM TOMS
2008; Van Zee & van de Geijn, "BLIS", ACM TOMS 2015).

The loops, outermost first (C is m x n, the inner dimension is k)::

    for each column block of C, NC wide              (parallel: the tasks; see below)
      for each KC slice of the inner dimension       (fixed order -> determinism)
        pack op(B)[kslice, cols] into NR-wide panels  (the "B block", lives in L2/L3)
        for each row block of C, MC tall
          pack op(A)[rows, kslice] into MR-tall panels (the "A block", lives in L2)
          for each NR panel of the B block             (reused from L1/L2 by ...)
            for each MR panel of the A block           (... every A panel)
              micro-kernel: an MR x NR tile of C += A panel @ B panel

When the rows of C fit one A block (``m <= MC``: a minibatch of up to 132), each B panel
is used by that one block only, and the loops become: pack the A block, then for each NR
panel of B, pack that panel and run every A panel against it. The panel (KC x NR, 12-64
KiB) is then read from L1 right after it is written, where a whole packed B block
(KC x NC, up to 1 MiB) would be written to L2 or beyond and read back; on a Zen 1 with
512 KiB of L2 that was worth 3-10% on the forward forms at batch 64 and 128 (roughly
measured, one thread). The arithmetic is the same, so the results are the same bits.

Packing copies a block into the exact order the micro-kernel reads it: the micro-kernel
then walks two contiguous arrays with unit stride, whatever the layout of the inputs.
The transposes needed by backpropagation (``A.T @ B`` and ``A @ B.T``) are handled
*here*, by reading the source with swapped strides while packing; no transposed copy of
a whole matrix is ever made. Edge panels are zero-padded to full MR/NR size, so the
micro-kernel never needs a bounds check; a partial output tile is computed into a small
scratch tile and the valid part copied out.

The micro-kernel keeps an MR x NR tile of C in local accumulators (registers) for the
whole KC slice: per step of k it loads NR values of B (a few vectors), broadcasts MR
values of A, and does MR*NR multiply-adds. With -O3 -march=native the compiler turns it
into vector FMAs (see ``gemm_microkernel.h`` for why that part is written in C).

Block sizes (this machine: L1d 32 KiB, L2 1 MiB per core, L3 32 MiB shared):

* ``MR x NR`` = 6 x 64 (float32) / 6 x 32 (float64) with AVX-512: 24 vector
  accumulators out of 32 registers (the tile shape was chosen by measurement: see
  gemm_microkernel.h and docs/KERNELS.md). Without AVX-512 (16 vector registers)
  6 x 2 vectors.
* ``KC`` = 256 at most: the inner dimension is cut into equal slices of at most KC
  (``slice_length``: 784 = 4 x 196, not 3 x 256 + 16). A B micro-panel (KC x NR,
  64 KiB float32) is reused by every A panel of the block, an A micro-panel (MR x KC,
  6 KiB) sits in L1 while it is used. The B panel is bigger than L1, so it streams from
  L2: 256 bytes per 24 vector FMAs, well within L2 bandwidth. Longer slices mean fewer
  passes over C; among the lengths measured here, 256 was as fast as any
  (docs/KERNELS.md).
* ``MC`` = 132 rows (a multiple of MR = 6, and >= 128 so that a batch of 128 is one
  block): the A block, MC x KC (132 KiB float32), sits in L2 next to the B block.
* ``NC`` <= 1024 columns: the B block, KC x NC, at most 1 MiB float32 (L2/L3). The
  columns are split into at least as many blocks as threads.

Threads: a task is a column block of C, or a group of its MC row blocks. A task packs
the rows of A and the columns of B it needs, so t threads splitting the columns pack all
of A t times, and splitting the rows pack all of B t times. C taller than wide (the
weight gradient X.T @ dY of a layer of 128 or 256 units: 784 x 128) is therefore split
into one row group per thread; otherwise the tasks are the column blocks (at least one
per thread, and a multiple of the thread count so that OpenMP's static split is even),
and when C is too narrow for that, each column block is further cut into row groups.
Each thread packs into its own buffers (one malloc for all, freed before returning), so
tasks never synchronise.

Determinism: threads split the *output* (column blocks, then row groups), never the
inner dimension. Each element of C is computed by the same micro-kernel arithmetic:
a sum over each slice in k order, and the slices added to C in k order. The slices
depend on k alone, not on the thread count, so results are bit-identical for any
``n_threads``.

Epilogue (``fused_linear_forward``): a dense layer's forward is ``dropout(relu(X @ W + b))``.
Run separately, each of the three steps is a full pass over C from memory (plus an
allocation). Instead, the task that owns a row block of a column block applies them
right after that block's last KC slice, while it is in cache (``apply_epilogue``). The
steps are the ones of numpy's ``+`` and of the relu and dropout kernels, with the rules
taken from ``elementwise.pxd`` and dropout's counter the element's C-order index in C,
so fusing changes no bit. (Finer fusion, on each micro-tile still in registers, would
save a little more but would thread the epilogue through the micro-kernel.)
"""
from cython.parallel cimport prange, threadid
from libc.math cimport NAN
from libc.stdint cimport uint64_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from elementwise cimport dropout_keep, relu_value, select

ctypedef fused floating:
    float
    double

cdef extern from "gemm_microkernel.h":
    enum:
        MG_MR_S   # micro-tile rows, float32
        MG_NR_S   # micro-tile columns, float32
        MG_MR_D
        MG_NR_D
    void mg_kernel_s(Py_ssize_t kc, const float* a, const float* b, float* c,
                     Py_ssize_t ldc, int accumulate) noexcept nogil
    void mg_kernel_d(Py_ssize_t kc, const double* a, const double* b, double* c,
                     Py_ssize_t ldc, int accumulate) noexcept nogil
    void mg_kernel_s_rows(int rows, Py_ssize_t kc, const float* a, const float* b, float* c,
                          Py_ssize_t ldc, int accumulate) noexcept nogil
    void mg_kernel_d_rows(int rows, Py_ssize_t kc, const double* a, const double* b,
                          double* c, Py_ssize_t ldc, int accumulate) noexcept nogil
    void mg_transpose4x4_s(const float* src, Py_ssize_t lds, float* dst,
                           Py_ssize_t ldd) noexcept nogil

cdef enum:
    KC = 256      # inner-dimension slice (fixed: determines the rounding, see notes)
    MC = 132      # rows of C per A block (a multiple of MR = 6)
    NC_MAX = 1024 # most columns of C per B block
    ALIGN = 64    # packing buffers are aligned to a cache line


cdef inline Py_ssize_t cdiv(Py_ssize_t x, Py_ssize_t y) noexcept nogil:
    return (x + y - 1) // y


cdef inline Py_ssize_t get_mr(floating dummy) noexcept nogil:
    if floating is float:
        return MG_MR_S
    else:
        return MG_MR_D


cdef inline Py_ssize_t get_nr(floating dummy) noexcept nogil:
    if floating is float:
        return MG_NR_S
    else:
        return MG_NR_D


cdef void pack_a(const floating* a, Py_ssize_t lda, bint trans, Py_ssize_t row0,
                 Py_ssize_t rows, Py_ssize_t k0, Py_ssize_t kc,
                 floating* dst) noexcept nogil:
    """Pack ``op(a)[row0:row0+rows, k0:k0+kc]`` into MR-tall panels.

    Panel ``q`` holds rows ``q*MR .. q*MR+MR-1``, stored k-major: its element
    ``(i, p)`` is at ``dst[q*MR*kc + p*MR + i]``. Rows past ``rows`` are zero.
    ``op(a)[r, p]`` is ``a[r, p]``, or ``a[p, r]`` when ``trans``.
    """
    cdef Py_ssize_t mr = get_mr(<floating>0)
    cdef Py_ssize_t q, i, p, r, h
    cdef floating* panel
    cdef const floating* src
    for q in range(cdiv(rows, mr)):
        panel = dst + q * mr * kc
        h = min(mr, rows - q * mr)           # valid rows in this panel
        r = row0 + q * mr
        if trans:
            # op(a) row r is column r of a: for each p the MR values are contiguous.
            for p in range(kc):
                src = a + (k0 + p) * lda + r
                for i in range(h):
                    panel[p * mr + i] = src[i]
                for i in range(h, mr):
                    panel[p * mr + i] = 0
        else:
            # Each row of op(a) is contiguous in a: read along it, write with stride MR.
            for i in range(h):
                src = a + (r + i) * lda + k0
                for p in range(kc):
                    panel[p * mr + i] = src[p]
            for i in range(h, mr):
                for p in range(kc):
                    panel[p * mr + i] = 0


cdef inline void transpose8x8(const floating* src, Py_ssize_t lds, floating* dst,
                              Py_ssize_t ldd) noexcept nogil:
    """dst[p, j] = src[j, p] for an 8 x 8 block (row strides lds and ldd)."""
    cdef Py_ssize_t p, j
    if floating is float:
        for p in range(0, 8, 4):
            for j in range(0, 8, 4):
                mg_transpose4x4_s(src + j * lds + p, lds, dst + p * ldd + j, ldd)
    else:
        for p in range(8):
            for j in range(8):
                dst[p * ldd + j] = src[j * lds + p]


cdef void pack_b(const floating* b, Py_ssize_t ldb, bint trans, Py_ssize_t k0,
                 Py_ssize_t kc, Py_ssize_t col0, Py_ssize_t cols,
                 floating* dst) noexcept nogil:
    """Pack ``op(b)[k0:k0+kc, col0:col0+cols]`` into NR-wide panels.

    Panel ``q`` holds columns ``q*NR .. q*NR+NR-1``, stored k-major: its element
    ``(p, j)`` is at ``dst[q*kc*NR + p*NR + j]``. Columns past ``cols`` are zero.
    ``op(b)[p, c]`` is ``b[p, c]``, or ``b[c, p]`` when ``trans``.
    """
    cdef Py_ssize_t nr = get_nr(<floating>0)
    cdef Py_ssize_t q, j, jj, p, c, w
    cdef floating* panel
    cdef const floating* src
    for q in range(cdiv(cols, nr)):
        panel = dst + q * kc * nr
        w = min(nr, cols - q * nr)           # valid columns in this panel
        c = col0 + q * nr
        if trans:
            # op(b) column c is row c of b: a transpose, done in 8 x 8 blocks whose fixed
            # trip counts let the compiler unroll them and keep everything in L1.
            j = 0
            while j + 8 <= w:
                src = b + (c + j) * ldb + k0
                p = 0
                while p + 8 <= kc:
                    transpose8x8(src + p, ldb, panel + p * nr + j, nr)
                    p += 8
                for p in range(p, kc):
                    for jj in range(8):
                        panel[p * nr + j + jj] = src[jj * ldb + p]
                j += 8
            for j in range(j, w):
                src = b + (c + j) * ldb + k0
                for p in range(kc):
                    panel[p * nr + j] = src[p]
            for j in range(w, nr):
                for p in range(kc):
                    panel[p * nr + j] = 0
        elif w == nr:
            # A full panel: NR contiguous values per step of k, a fixed-size copy (a few
            # vector moves) instead of a loop whose trip count the compiler cannot see.
            for p in range(kc):
                memcpy(panel + p * nr, b + (k0 + p) * ldb + c, nr * sizeof(floating))
        else:
            for p in range(kc):
                src = b + (k0 + p) * ldb + c
                for j in range(w):
                    panel[p * nr + j] = src[j]
                for j in range(w, nr):
                    panel[p * nr + j] = 0


cdef inline void micro_kernel(Py_ssize_t kc, const floating* ap, const floating* bp,
                              floating* c, Py_ssize_t ldc, int accumulate) noexcept nogil:
    """One MR x NR tile: ``c (=|+=) ap @ bp`` over a KC slice (see gemm_microkernel.h)."""
    if floating is float:
        mg_kernel_s(kc, ap, bp, c, ldc, accumulate)
    else:
        mg_kernel_d(kc, ap, bp, c, ldc, accumulate)


cdef inline void micro_kernel_rows(int rows, Py_ssize_t kc, const floating* ap,
                                   const floating* bp, floating* c, Py_ssize_t ldc,
                                   int accumulate) noexcept nogil:
    """The first ``rows`` (< MR) rows of a tile, written into C like a full tile."""
    if floating is float:
        mg_kernel_s_rows(rows, kc, ap, bp, c, ldc, accumulate)
    else:
        mg_kernel_d_rows(rows, kc, ap, bp, c, ldc, accumulate)


cdef void macro_kernel(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t kc,
                       const floating* apack, const floating* bpack,
                       floating* c, Py_ssize_t ldc, int accumulate,
                       floating* tile) noexcept nogil:
    """C[rows, cols] (=|+=) A block @ B block, tile by tile; ``tile`` is MR*NR scratch."""
    cdef Py_ssize_t mr = get_mr(<floating>0)
    cdef Py_ssize_t nr = get_nr(<floating>0)
    cdef Py_ssize_t qj, qi, jr, ir, i, j, h, w
    cdef floating* ctile
    for qj in range(cdiv(cols, nr)):
        jr = qj * nr
        w = min(nr, cols - jr)
        for qi in range(cdiv(rows, mr)):
            ir = qi * mr
            h = min(mr, rows - ir)
            ctile = c + ir * ldc + jr
            if h == mr and w == nr:
                micro_kernel(kc, apack + ir * kc, bpack + jr * kc, ctile, ldc, accumulate)
            elif w == nr:
                # The last rows of the block: a kernel of h rows (same arithmetic per element).
                micro_kernel_rows(<int>h, kc, apack + ir * kc, bpack + jr * kc, ctile, ldc,
                                  accumulate)
            else:
                # Edge tile: full-size product into scratch (same arithmetic), keep h x w.
                micro_kernel(kc, apack + ir * kc, bpack + jr * kc, tile, nr, 0)
                for i in range(h):
                    for j in range(w):
                        if accumulate:
                            ctile[i * ldc + j] += tile[i * nr + j]
                        else:
                            ctile[i * ldc + j] = tile[i * nr + j]


cdef struct Epilogue:
    # What fused_linear_forward applies to C after the product, in this order (NULL: nothing).
    const void* bias      # n values of C's dtype added to every row, or NULL
    bint relu
    bint dropout
    uint64_t seed
    uint64_t threshold
    double scale          # kept units' factor, a value of C's dtype (exact in a double)
    void* noise           # m x n values of C's dtype: Gaussian noise r in, slope out; or NULL


cdef void apply_epilogue(const Epilogue* epi, floating* c, Py_ssize_t n,
                         Py_ssize_t row0, Py_ssize_t rows,
                         Py_ssize_t col0, Py_ssize_t cols) noexcept nogil:
    """Bias, ReLU, dropout or noise on ``C[row0:row0+rows, col0:col0+cols]`` (C is m x n).

    Element for element the same operations as numpy's ``+ bias`` followed by the relu
    and dropout kernels (the rules come from ``elementwise.pxd``), so the result is
    bit-identical to that sequence. One row segment (at most NC_MAX values, in L1) at a
    time, one simple loop per step: each vectorises like the stand-alone kernel.

    Gaussian noise (``epi.noise``, after the ReLU): ``C = a * r`` with ``a`` the ReLU's
    output, the product of the gaussian_dropout kernel; and ``r`` is overwritten by the
    slope ``dC/dz``: ``r`` where ``a > 0`` (ReLU's own test), NaN where the ReLU stopped
    the unit. ``r`` itself is never NaN, so the slope says both things the backward
    needs, exactly, where ``C`` cannot: ``a * r`` is 0 by underflow or for ``r = 0``,
    and negative for ``r < 0``, while ``a > 0``.
    """
    cdef const floating* bias = <const floating*>epi.bias
    cdef floating scale = <floating>epi.scale
    cdef uint64_t seed = epi.seed, threshold = epi.threshold
    cdef floating scaled, r, a
    cdef floating* row
    cdef floating* noise_row
    cdef Py_ssize_t i, j
    cdef uint64_t first
    for i in range(row0, row0 + rows):
        row = c + i * n + col0
        if bias != NULL:
            for j in range(cols):
                row[j] = row[j] + bias[col0 + j]
        if epi.relu:
            for j in range(cols):
                row[j] = relu_value(row[j])
        if epi.dropout:
            first = <uint64_t>(i * n + col0)       # the C-order index of row[0]
            for j in range(cols):
                scaled = row[j] * scale  # for every element, as in dropout.pyx: a select
                row[j] = select(dropout_keep(seed, first + <uint64_t>j, threshold), scaled, 0)
        if epi.noise != NULL:
            noise_row = <floating*>epi.noise + i * n + col0
            for j in range(cols):
                a = row[j]
                r = noise_row[j]
                row[j] = a * r
                noise_row[j] = r if a > 0 else <floating>NAN


cdef inline Py_ssize_t slice_length(Py_ssize_t k) noexcept nogil:
    """The length of the inner-dimension slices of a product with inner dimension ``k``.

    As many slices as ``KC`` needs, of (nearly) equal length: 784 = 4 x 196, not
    3 x 256 + 16, whose short last slice would pay a whole pass over C for 16 steps
    of k. Rounded up to a multiple of 16 (so every packed block stays 64-byte
    aligned), at most ``KC``. It depends on ``k`` alone, never on the threads.
    """
    cdef Py_ssize_t even = cdiv(k, cdiv(k, KC))
    return min(<Py_ssize_t>KC, cdiv(even, 16) * 16)


cdef void gemm_task(const floating* a, Py_ssize_t lda, bint trans_a,
                    const floating* b, Py_ssize_t ldb, bint trans_b,
                    floating* c, Py_ssize_t ldc, Py_ssize_t k,
                    Py_ssize_t row_begin, Py_ssize_t row_end,
                    Py_ssize_t col0, Py_ssize_t cols,
                    floating* apack, floating* bpack, floating* tile,
                    const Epilogue* epi) noexcept nogil:
    """C[row_begin:row_end, col0:col0+cols] = op(A) @ op(B) for those rows and columns.

    With an epilogue (``epi`` not NULL), each row block gets it right after its last
    KC slice, while that block of C is still in cache.
    """
    cdef Py_ssize_t nr = get_nr(<floating>0)
    cdef Py_ssize_t qk, qi, qj, k0, kc, i0, rows, j0
    cdef Py_ssize_t step = slice_length(k)
    # One row block: each B panel is used by that block alone (see the module notes).
    cdef bint one_block = row_end - row_begin <= MC
    for qk in range(cdiv(k, step)):          # slices strictly in k order
        k0 = qk * step
        kc = min(step, k - k0)
        if not one_block:
            pack_b(b, ldb, trans_b, k0, kc, col0, cols, bpack)
        for qi in range(cdiv(row_end - row_begin, MC)):
            i0 = row_begin + qi * MC
            rows = min(<Py_ssize_t>MC, row_end - i0)
            pack_a(a, lda, trans_a, i0, rows, k0, kc, apack)
            if one_block:  # each B panel packed just before its use, while it stays in L1
                for qj in range(cdiv(cols, nr)):
                    j0 = qj * nr
                    pack_b(b, ldb, trans_b, k0, kc, col0 + j0, min(nr, cols - j0), bpack)
                    macro_kernel(rows, min(nr, cols - j0), kc, apack, bpack,
                                 c + i0 * ldc + col0 + j0, ldc, k0 > 0, tile)
            else:
                macro_kernel(rows, cols, kc, apack, bpack, c + i0 * ldc + col0, ldc,
                             k0 > 0, tile)
            if epi != NULL and k0 + kc == k:
                apply_epilogue(epi, c, ldc, i0, rows, col0, cols)


cdef inline void* align_up(void* p) noexcept nogil:
    """Round a pointer up to the next multiple of ALIGN bytes."""
    return <void*>((<uintptr_t>p + ALIGN - 1) & ~(<uintptr_t>ALIGN - 1))


cdef int gemm_core(const floating* a, Py_ssize_t lda, bint trans_a,
                   const floating* b, Py_ssize_t ldb, bint trans_b,
                   floating* c, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                   int n_threads, const Epilogue* epi) noexcept nogil:
    """Split C into tasks, give each thread its own packing buffers, run the tasks.

    ``epi``: NULL, or the epilogue each task applies to its part of C when done.

    Returns 0, or -1 when the packing buffers could not be allocated.
    """
    cdef Py_ssize_t mr = get_mr(<floating>0)
    cdef Py_ssize_t nr = get_nr(<floating>0)
    cdef Py_ssize_t n_panels = cdiv(n, nr)
    cdef Py_ssize_t n_row_blocks = cdiv(m, MC)
    cdef Py_ssize_t n_cb, panels_per_cb, cb_width, n_rg, rb_per_group, n_tasks
    cdef Py_ssize_t t, cb, rg, col0, cols, row_begin, row_end, per_thread
    cdef floating* base
    cdef floating* mine
    cdef void* raw
    if n_threads < 1:
        n_threads = 1
    # Column blocks: at most NC_MAX wide. Every task packs the rows of A and the columns
    # of B it needs, so splitting the columns among t threads packs A t times, splitting
    # the rows packs B t times: for C taller than wide (a weight gradient X.T @ dY into
    # few units) the rows are split, one row group per thread; otherwise the columns,
    # at least one block per thread when n allows it and a multiple of the thread count
    # when there are several (so that the static split is even).
    n_cb = cdiv(n, NC_MAX)
    n_rg = 1
    if n_threads > 1 and m > n and n_row_blocks >= n_threads:
        n_rg = n_threads
    elif n_cb < n_threads:
        n_cb = n_threads
    else:
        n_cb = cdiv(n_cb, n_threads) * n_threads
    n_cb = min(n_cb, n_panels)
    panels_per_cb = cdiv(n_panels, n_cb)
    cb_width = panels_per_cb * nr
    n_cb = cdiv(n, cb_width)
    # Still fewer tasks than threads (narrow C): also split the rows into groups.
    if n_cb * n_rg < n_threads:
        n_rg = min(cdiv(n_threads, n_cb), n_row_blocks)
    rb_per_group = cdiv(n_row_blocks, n_rg)
    n_rg = cdiv(n_row_blocks, rb_per_group)
    n_tasks = n_cb * n_rg
    if n_threads > n_tasks:
        n_threads = <int>n_tasks

    # Per thread: an A block (MC x KC), a B block (KC x cb_width), an MR x NR scratch
    # tile. Each size is a multiple of 64 bytes (KC = 256 elements; MR*NR*sizeof is a
    # multiple of 64 for every tile shape in the header), so every piece starts on a
    # cache line when the whole buffer does.
    per_thread = MC * KC + KC * cb_width + mr * nr
    raw = malloc(n_threads * per_thread * sizeof(floating) + ALIGN)
    if raw == NULL:
        return -1
    base = <floating*>align_up(raw)
    # Tasks in row-group-major order: the static split gives each thread consecutive
    # tasks, so when the rows are split, a thread's tasks are its own row group's
    # column blocks (its rows of A), not one column block's row groups (all of A).
    for t in prange(n_tasks, num_threads=n_threads, schedule='static'):
        mine = base + threadid() * per_thread
        rg = t // n_cb
        cb = t % n_cb
        col0 = cb * cb_width
        cols = min(cb_width, n - col0)
        row_begin = rg * rb_per_group * MC
        row_end = min(m, row_begin + rb_per_group * MC)
        gemm_task(a, lda, trans_a, b, ldb, trans_b, c, n, k, row_begin, row_end, col0, cols,
                  mine, mine + MC * KC, mine + MC * KC + KC * cb_width, epi)
    free(raw)
    return 0


def gemm(const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] out,
         bint trans_a, bint trans_b, int n_threads):
    """``out[...] = op(a) @ op(b)``, where op transposes its argument when the flag is set.

    a, b: C-contiguous 2-D arrays (float32 or float64, the same); ``op(a)`` is (m, k)
    and ``op(b)`` is (k, n). out: a C-contiguous (m, n) array of that dtype,
    overwritten (not accumulated into). n_threads: threads to use (>= 1); the result is
    bit-identical for any value.

    Example::

        >>> a = np.ones((2, 3)); b = np.ones((2, 3)); out = np.empty((2, 2))
        >>> gemm(a, b, out, False, True, 1)   # a @ b.T
        >>> out
        array([[3., 3.],
               [3., 3.]])
    """
    cdef Py_ssize_t m = a.shape[1] if trans_a else a.shape[0]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    cdef Py_ssize_t kb = b.shape[1] if trans_b else b.shape[0]
    cdef Py_ssize_t n = b.shape[0] if trans_b else b.shape[1]
    cdef int status
    # Cheap guard: the cores below run without bounds checks.
    if k != kb or out.shape[0] != m or out.shape[1] != n:
        raise ValueError(
            f"gemm: op(a) is ({m}, {k}), op(b) is ({kb}, {n}), out is "
            f"({out.shape[0]}, {out.shape[1]}): shapes do not align")
    if m == 0 or n == 0:
        return
    if k == 0:
        with nogil:
            memset(&out[0, 0], 0, m * n * sizeof(out[0, 0]))
        return
    with nogil:
        status = gemm_core(&a[0, 0], a.shape[1], trans_a, &b[0, 0], b.shape[1], trans_b,
                           &out[0, 0], m, n, k, n_threads, NULL)
    if status != 0:
        raise MemoryError("gemm: could not allocate the packing buffers")


def fused_linear_forward(const floating[:, ::1] a, const floating[:, ::1] b,
                         floating[:, ::1] out, bint trans_a, bint trans_b, bias, bint relu,
                         bint dropout, uint64_t seed, uint64_t threshold, floating scale,
                         int n_threads, noise=None):
    """``out[...] = dropout(relu(op(a) @ op(b) + bias))``, each step optional, in one pass.

    The GEMM of :func:`gemm`; then, when the flag or argument says so,

    * ``out[i, j] += bias[j]``                              (``bias`` not None)
    * ``out[i, j] = 0 if out[i, j] <= 0 else out[i, j]``    (``relu``)
    * ``out[i, j] = out[i, j] * scale`` if element ``i*n + j`` is kept in stream
      ``seed`` at ``threshold``, else 0                     (``dropout``)

    with exactly the rules of ``relu_forward`` and ``dropout_forward``: the result is
    bit-identical to :func:`gemm`, numpy's ``+ bias`` (same dtype), ``relu_forward``
    and ``dropout_forward`` with the same seed, threshold and scale, applied one after
    the other (one IEEE-sanctioned exception: where the product and ``bias[j]`` are
    both NaN, either NaN may come out, as compilers order the operands of ``+`` as they
    like). Each thread applies the steps to its own block of ``out`` right after
    the block's last KC slice, while it is in cache: no extra pass over ``out``.

    Args:
        a, b, out, trans_a, trans_b, n_threads: as for :func:`gemm`; out is (m, n).
        bias: None, or a C-contiguous (n,) array of out's dtype.
        relu, dropout: apply that step.
        seed, threshold, scale: dropout's stream, ``ceil(p * 2**53)`` and the factor of
            kept units, as for ``dropout_forward`` (ignored unless ``dropout``). No mask
            is written: ``fused_linear_backward`` needs only ``out``.
        noise: None, or Gaussian dropout's noise ``r`` (``gaussian_noise``) as a
            C-contiguous (m, n) array of out's dtype, with ``relu`` and not ``dropout``:
            then ``out[i, j] = relu(...)[i, j] * r[i, j]``, and ``noise`` is overwritten
            by the slope ``d out / d z``: ``r`` where the ReLU passed the unit, NaN
            where it did not (for ``fused_linear_backward_noise``).

    Example::

        >>> a = np.ones((2, 3)); b = np.ones((3, 2)); out = np.empty((2, 2))
        >>> fused_linear_forward(a, b, out, False, False, np.array([-4.0, 1.0]), True,
        ...                      False, 0, 0, 1.0, 1)
        >>> out
        array([[0., 4.],
               [0., 4.]])
    """
    cdef Py_ssize_t m = a.shape[1] if trans_a else a.shape[0]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    cdef Py_ssize_t kb = b.shape[1] if trans_b else b.shape[0]
    cdef Py_ssize_t n = b.shape[0] if trans_b else b.shape[1]
    cdef const floating[::1] bias_view
    cdef floating[:, ::1] noise_view
    cdef Epilogue epi
    cdef int status
    if k != kb or out.shape[0] != m or out.shape[1] != n:
        raise ValueError(
            f"fused_linear_forward: op(a) is ({m}, {k}), op(b) is ({kb}, {n}), out is "
            f"({out.shape[0]}, {out.shape[1]}): shapes do not align")
    if bias is not None:
        bias_view = bias
        if bias_view.shape[0] != n:
            raise ValueError(f"fused_linear_forward: bias has length {bias_view.shape[0]}, "
                             f"out has {n} columns")
    if noise is not None:
        noise_view = noise
        if noise_view.shape[0] != m or noise_view.shape[1] != n:
            raise ValueError(f"fused_linear_forward: noise is ({noise_view.shape[0]}, "
                             f"{noise_view.shape[1]}), out is ({m}, {n})")
        if not relu or dropout:
            raise ValueError("fused_linear_forward: noise needs relu and no dropout")
    if m == 0 or n == 0:
        return
    epi.noise = &noise_view[0, 0] if noise is not None else NULL
    epi.bias = &bias_view[0] if bias is not None else NULL
    epi.relu = relu
    epi.dropout = dropout
    epi.seed = seed
    epi.threshold = threshold
    epi.scale = scale
    with nogil:
        if k == 0:
            memset(&out[0, 0], 0, m * n * sizeof(out[0, 0]))
            apply_epilogue(&epi, &out[0, 0], n, 0, m, 0, n)
            status = 0
        else:
            status = gemm_core(&a[0, 0], a.shape[1], trans_a, &b[0, 0], b.shape[1], trans_b,
                               &out[0, 0], m, n, k, n_threads, &epi)
    if status != 0:
        raise MemoryError("fused_linear_forward: could not allocate the packing buffers")
