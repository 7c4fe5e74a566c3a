"""Reverse-mode automatic differentiation: grad mode, the Function base class, the backward pass.

Every differentiable op is a ``Function`` subclass whose ``forward`` (numpy arrays in,
one numpy array out) and ``backward`` (the upstream gradient in, one gradient per
input out) sit side by side. ``Function.apply`` runs the forward and, when gradients
are wanted, links the result to the op so that ``backward`` can later walk the graph:

    y = Mul.apply(a, b)          # y.data = a.data * b.data, y._fn.inputs = (a, b)
    y.backward(g)                # a.grad += g * b.data, b.grad += g * a.data

The backward pass (``run_backward``) is iterative, so a chain of 10,000 ops does not
touch Python's recursion limit; it visits ops in reverse topological order, so a
tensor used twice (fan-out) receives the sum of both gradients before it propagates.
Only leaf tensors (created by the user with ``requires_grad=True``) keep ``.grad``,
and they accumulate it (``+=``) across backward calls, as in PyTorch.

Grad mode is per thread: ``no_grad`` in one thread (an evaluation loop, say) never
switches recording off in another, and every new thread starts with recording on.

What backward relies on, and how misuse is refused
--------------------------------------------------
A gradient is only right if backward sees the values the forward saw. An op keeps
the arrays its backward reads with ``save_for_backward`` (arrays of its inputs, or its
own output), and backward refuses, with a RuntimeError raised before any gradient
changes, to use them if they may have changed:

* **One backward per graph.** ``backward()`` frees each op's saved state as it goes
  (the memory is released at once), so a second ``backward()`` through the same graph
  raises instead of adding every gradient in again. ``backward(retain_graph=True)``
  keeps the graph for another pass.
* **Versions** (PyTorch's rule, O(1) per op). Every tensor counts the in-place writes
  minigrad makes to its data, ``_version``: ``SGD.step``, ``MaxNorm`` and
  ``Module.load_state_dict`` call ``bump_version`` after writing. An op records the
  versions of the inputs it saved and backward compares them, so ``optimizer.step()``
  before ``loss.backward()`` is an error, not the stepped weights mixed with
  activations of the old ones. Stepping while an unused graph is alive stays legal:
  only a backward through it fails.
* **Copies of your leaves.** numpy cannot report a direct write such as
  ``b.data[...] = 100``, so when an op saves the array of a tensor you made with
  ``requires_grad=True`` (a leaf, not a ``Parameter``) it also keeps a copy, and
  backward compares the two. Writes that no backward follows, such as finite
  differences with an unused graph lying around, stay legal. Nothing else is copied,
  so that a training step pays nothing: Parameters (minigrad's own writes to them are
  versioned; copying would add passes over every weight per step), inputs without
  ``requires_grad`` and ops' outputs. A direct ``.data`` write to one of those
  between a forward and its backward goes unseen, as every ``.data`` write does in
  PyTorch: make it before the forward or after the backward, or ``bump_version``.

micrograd and early tinygrad have none of these checks: their optimizers write
``data`` in place (``t.data -= lr * t.grad``) and backward reads whatever is there.
"""
import threading

import numpy as np


class _GradMode(threading.local):
    """Per-thread grad mode; ``__init__`` runs once in every thread that touches it."""

    def __init__(self):
        self.enabled = True
        self.previous = []  # the modes that enclosing no_grad blocks restore


_grad_mode = _GradMode()


class no_grad:
    """Context manager and decorator that disables graph recording in the current thread.

    Inside ``with minigrad.no_grad():`` ops compute values only: results have
    ``requires_grad=False`` and keep no references to their inputs. Use it for
    evaluation. Blocks nest and each restores the mode it found; other threads are
    unaffected. As a decorator, ``@no_grad`` and ``@no_grad()`` both work.
    """

    def __new__(cls, func=None):
        if func is None:
            return super().__new__(cls)
        return cls()(func)

    def __enter__(self):
        _grad_mode.previous.append(_grad_mode.enabled)
        _grad_mode.enabled = False

    def __exit__(self, *exc_info):
        _grad_mode.enabled = _grad_mode.previous.pop()

    def __call__(self, func):
        def wrapper(*args, **kwargs):
            with no_grad():
                return func(*args, **kwargs)
        wrapper.__name__, wrapper.__qualname__ = func.__name__, func.__qualname__
        wrapper.__doc__, wrapper.__wrapped__ = func.__doc__, func
        return wrapper


def is_grad_enabled():
    """False inside a ``no_grad`` block of the current thread."""
    return _grad_mode.enabled


def bump_version(tensor):
    """Record an in-place write to ``tensor.data``; every in-place writer calls it after writing.

    A backward through a graph that saved the old values then raises instead of
    mixing them with the new ones.
    """
    tensor._version += 1


class Function:
    """A differentiable op. Subclasses define ``forward`` and ``backward``.

    ``forward(self, *arrays, **options)`` receives the inputs' numpy arrays and returns
    the output array. It keeps the input or output arrays its backward reads with
    ``self.save_for_backward(...)`` (backward finds them in ``self.saved_arrays``), and
    any other state on ``self`` (shapes, a mask it drew). Save the cheapest state:
    ReLU saves its output, not its input.

    ``backward(self, grad)`` receives d(loss)/d(output) and returns a tuple with one
    entry per input: d(loss)/d(input), shaped like that input, or None where
    ``self.needs_input_grad[i]`` is False (skipping work nobody needs). It must not
    modify ``grad`` in place (the same array may be handed to several ops), and it
    returns new arrays or views of ``grad``, never an array it keeps: leaves adopt
    the arrays they receive (see ``run_backward``).
    """

    inputs = ()
    needs_input_grad = ()
    saved_arrays = ()
    input_versions = ()  # each input's _version at the forward (if something is saved)
    saved_copies = ()    # (input index, saved array, copy of it) per saved grad leaf
    released = False     # backward has freed the saved state

    def forward(self, *arrays, **options):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def save_for_backward(self, *arrays):
        """Keep input or output arrays for backward (checked there, see the module doc)."""
        self.saved_arrays = arrays

    @classmethod
    def apply(cls, *inputs, **options):
        """Run the op on Tensors ``inputs``; record it in the graph if gradients are wanted."""
        return cls.apply_returning_op(*inputs, **options)[0]

    @classmethod
    def apply_returning_op(cls, *inputs, **options):
        """Like ``apply``, but return ``(output, op)`` so a caller can read saved state."""
        fn = cls()
        needs = tuple(t.requires_grad for t in inputs) if _grad_mode.enabled else ()
        fn.needs_input_grad = needs
        out = fn.forward(*(t.data for t in inputs), **options)
        if type(out) is not np.ndarray:  # numpy turns 0-d results into scalars
            out = np.asarray(out)
        if not any(needs):
            return Tensor._from_op(out, None), fn
        fn.inputs = inputs
        if fn.saved_arrays:
            fn.input_versions = [t._version for t in inputs]
            fn._copy_saved_leaves()
        return Tensor._from_op(out, fn), fn

    def _copy_saved_leaves(self):
        """Copy the saved arrays of inputs that are your grad leaves (see the module doc)."""
        copies = []
        for i, t in enumerate(self.inputs):
            # cheap tests first: in a training step every input fails one of them
            if (t.requires_grad and t._fn is None and type(t) is Tensor and _is_saved(t, self)
                    and all(t.data is not c[1] for c in copies)):
                copies.append((i, t.data, t.data.copy()))
        if copies:
            self.saved_copies = copies

    def release(self):
        """Free the saved state: backward has run and must not run again."""
        self.__dict__.clear()
        self.released = True


def topological_order(root):
    """Tensors reachable from ``root`` through recorded ops, inputs before outputs.

    An iterative depth-first search: each tensor is appended after everything it was
    computed from, using an explicit stack instead of recursion.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._fn is not None:
            for parent in node._fn.inputs:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def _check_graph(order):
    """Raise before any gradient moves if an op was freed or a saved input was modified."""
    for node in order:
        fn = node._fn
        if fn is None:
            continue
        if fn.released:
            raise RuntimeError(
                f"backward through a graph a second time: the first backward() freed the "
                f"saved state of its ops (this tensor came from {type(fn).__name__}). Pass "
                "retain_graph=True to the first backward() to backward through the same "
                "graph again, or run the forward again to build a new graph")
        if fn.input_versions and [t._version for t in fn.inputs] != fn.input_versions:
            for i, (t, version) in enumerate(zip(fn.inputs, fn.input_versions)):
                if t._version != version and _is_saved(t, fn):
                    _modified(fn, i, f"is at version {t._version}; expected version "
                              f"{version} instead. Something wrote it between the forward "
                              "and backward(), e.g. optimizer.step() or load_state_dict()")
        for i, array, copy in fn.saved_copies:
            if not np.array_equal(array, copy, equal_nan=True):
                _modified(fn, i, "was written (e.g. through .data) between the forward and "
                          "backward(): its values differ from those the forward used")


def _is_saved(t, fn):
    """True if ``fn`` saved the array of its input ``t`` for backward."""
    return any(t.data is a for a in fn.saved_arrays)


def _modified(fn, i, what):
    t = fn.inputs[i]
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: input {i} of {type(fn).__name__} (a {t.dtype} tensor of shape "
        f"{t.shape}) {what}. Call backward() before changing it, or run the forward again")


def _base_array(a):
    """The array that owns the memory ``a`` views (``a`` itself if it owns it)."""
    while a.base is not None and isinstance(a.base, np.ndarray):
        a = a.base
    return a


def run_backward(root, grad, retain_graph=False):
    """Propagate ``grad`` = d(loss)/d(root) to every leaf that requires a gradient.

    Each op's saved state is freed right after its backward unless ``retain_graph``.

    A leaf without a gradient *adopts* the array it receives instead of copying it
    (for a large weight matrix, a copy per step is measurable). That is safe because
    ``backward`` methods return either new arrays or views of the gradient they were
    given, never arrays they keep; an array is copied only when its memory might be
    shared: it belongs to the caller's ``grad``, another leaf already adopted it in
    this pass, or it is read-only (e.g. a broadcast view).
    """
    order = topological_order(root)
    _check_graph(order)
    pending = {id(root): grad}
    shared = {id(_base_array(grad))}  # memory a leaf must not adopt
    for node in reversed(order):
        g = pending.pop(id(node), None)
        fn = node._fn
        if g is not None:
            if fn is None:
                _accumulate(node, g, shared)
            else:
                _propagate(fn, g, pending)
        if fn is not None and not retain_graph:
            fn.release()  # its saved arrays go now, not when the graph is dropped


def _accumulate(leaf, g, shared):
    """Add ``g`` to ``leaf.grad``, or let the leaf adopt it (see ``run_backward``)."""
    if leaf.grad is not None:
        leaf.grad += g
        return
    base = _base_array(g)
    if id(base) in shared or not g.flags.writeable or g.dtype != leaf.data.dtype:
        g = np.array(g, dtype=leaf.data.dtype, copy=True)
        base = g
    shared.add(id(base))
    leaf.grad = g


def _propagate(fn, g, pending):
    """Run ``fn.backward(g)`` and add each input's gradient to ``pending``."""
    input_grads = fn.backward(g)
    assert len(input_grads) == len(fn.inputs), f"{type(fn).__name__}.backward arity"
    for parent, parent_grad, needed in zip(fn.inputs, input_grads, fn.needs_input_grad):
        if not needed or parent_grad is None:
            continue
        if type(parent_grad) is not np.ndarray:  # a 0-d result became a numpy scalar
            parent_grad = np.asarray(parent_grad)
        assert parent_grad.shape == parent.shape, (
            f"{type(fn).__name__}.backward returned shape {parent_grad.shape} "
            f"for an input of shape {parent.shape}")
        key = id(parent)
        pending[key] = pending[key] + parent_grad if key in pending else parent_grad


from .tensor import Tensor  # noqa: E402  (Tensor and Function refer to each other)
