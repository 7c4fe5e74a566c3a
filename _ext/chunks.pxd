"""Splitting an elementwise loop into per-thread chunks (shared by the elementwise kernels)."""


cdef inline int n_chunks(Py_ssize_t n, int n_threads, Py_ssize_t min_per_thread) except -1:
    """How many threads to use for ``n`` elements: at most ``n_threads``, each with at
    least ``min_per_thread`` elements (below that, starting a thread costs more than it
    saves). Chunk ``t`` of ``c`` is ``[t * n // c, (t + 1) * n // c)``; an element's
    result never depends on which chunk computed it."""
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    return <int>max(1, min(<Py_ssize_t>n_threads, n // min_per_thread))
