"""Reverse-mode automatic differentiation: grad mode, versions and the backward pass.

The graph is made of Tensors and the ops (``Function`` objects) that produced them,
both defined in ``minigrad.tensor``:

    y = Mul.apply(a, b)          # y.data = a.data * b.data, y._fn.inputs = (a, b)
    y.backward(g)                # a.grad += g * b.data, b.grad += g * a.data

This module walks that graph and imports neither class: it reads a tensor's ``_fn``,
``requires_grad``, ``grad`` and ``data``, and an op's ``inputs``, ``backward`` and
saved state, so it depends on nothing else in minigrad and sits at the bottom of the
import graph (``minigrad.tensor`` says how the modules above it import each other).

The backward pass (``run_backward``) is micrograd's loop: sort the tensors so that
each comes after everything it was computed from, then visit them in reverse, each op
calling its ``backward`` and adding the result into its inputs' gradients. The sort is
iterative, so a chain of 10,000 ops does not touch Python's recursion limit, and the
order means a tensor used twice (fan-out) has received the sum of both gradients
before it propagates. Only leaf tensors (created by the user with
``requires_grad=True``) keep ``.grad``, and they accumulate it (``+=``) across
backward calls, as in PyTorch; the first gradient array a leaf receives is adopted,
not copied, when that is safe (``_adopt_or_accumulate`` says when).

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


#: This thread's grad mode. ``Function.apply`` reads ``grad_mode.enabled`` on every op;
#: user code calls ``is_grad_enabled()`` and ``no_grad()``.
grad_mode = _GradMode()


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
        grad_mode.previous.append(grad_mode.enabled)
        grad_mode.enabled = False

    def __exit__(self, *exc_info):
        grad_mode.enabled = grad_mode.previous.pop()

    def __call__(self, func):
        def wrapper(*args, **kwargs):
            with no_grad():
                return func(*args, **kwargs)
        wrapper.__name__, wrapper.__qualname__ = func.__name__, func.__qualname__
        wrapper.__doc__, wrapper.__wrapped__ = func.__doc__, func
        return wrapper


def is_grad_enabled():
    """False inside a ``no_grad`` block of the current thread."""
    return grad_mode.enabled


def bump_version(tensor):
    """Record an in-place write to ``tensor.data``; every in-place writer calls it after writing.

    A backward through a graph that saved the old values then raises instead of
    mixing them with the new ones.
    """
    tensor._version += 1


def run_backward(root, grad, retain_graph=False):
    """Propagate ``grad`` = d(loss)/d(root) to every leaf that requires a gradient.

    Each op's saved state is freed right after its backward unless ``retain_graph``.
    """
    order = topological_order(root)
    _check_graph(order)               # refuse misuse before any gradient moves
    grads = {id(root): grad}          # d(loss)/d(tensor) for the tensors reached so far
    shared = {id(_base_array(grad))}  # memory no leaf may adopt (see _adopt_or_accumulate)
    # outputs first: when a tensor is reached, every op it fed has added its share
    for node in reversed(order):
        g = grads.pop(id(node), None)
        fn = node._fn
        if fn is None:                # a leaf: the gradient stops here
            if g is not None:
                _adopt_or_accumulate(node, g, shared)
            continue
        if g is not None:
            _chain_rule(fn, g, grads)
        if not retain_graph:
            fn.release()              # its saved arrays go now, not when the graph is dropped


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


def _chain_rule(fn, g, grads):
    """Run ``fn.backward(g)`` and add each input's gradient into ``grads``, by input."""
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
        # a new array, not +=: the one stored may be a view of another op's gradient
        grads[key] = grads[key] + parent_grad if key in grads else parent_grad


def _adopt_or_accumulate(leaf, g, shared):
    """Add the gradient ``g`` into ``leaf.grad``, or let a leaf without one adopt ``g``.

    Adopting means ``leaf.grad = g``: the first array that reaches the leaf becomes its
    gradient, with no copy. That saves an allocation and a pass over memory per leaf and
    backward: for a 1024 x 1024 float32 weight matrix, 4 MB not copied in every training
    step. Gradients that come later (in the next ``backward()``: within one pass, all of
    a leaf's gradients are summed before the leaf is reached) are added in, ``+=``.

    Adopting is safe when nothing else holds the memory, since the leaf's next ``+=``
    writes into it, and so may the user. ``Function.backward`` returns new arrays or
    views of the gradient it was given, never an array it keeps, so the memory belongs
    to this backward pass. Within the pass, ``g`` is copied instead of adopted when its
    memory may be held elsewhere:

    * it is the caller's ``grad`` (``y.backward(g)`` must leave ``g`` alone), or another
      leaf adopted it in this pass (``a + b`` hands one array to both operands).
      ``shared`` records these by the array that owns the memory, so views are caught;
    * it is read-only (e.g. a broadcast view, whose elements share memory), or it is
      not of the leaf's dtype.
    """
    if leaf.grad is not None:
        leaf.grad += g
        return
    base = _base_array(g)
    if id(base) in shared or not g.flags.writeable or g.dtype != leaf.data.dtype:
        g = np.array(g, dtype=leaf.data.dtype, copy=True)
        base = g
    shared.add(id(base))
    leaf.grad = g


def _base_array(a):
    """The array that owns the memory ``a`` views (``a`` itself if it owns it)."""
    while a.base is not None and isinstance(a.base, np.ndarray):
        a = a.base
    return a


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
                if t._version != version and fn.saves(t):
                    _modified(fn, i, f"is at version {t._version}; expected version "
                              f"{version} instead. Something wrote it between the forward "
                              "and backward(), e.g. optimizer.step() or load_state_dict()")
        for i, array, copy in fn.saved_copies:
            if not np.array_equal(array, copy, equal_nan=True):
                _modified(fn, i, "was written (e.g. through .data) between the forward and "
                          "backward(): its values differ from those the forward used")


def _modified(fn, i, what):
    t = fn.inputs[i]
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: input {i} of {type(fn).__name__} (a {t.dtype} tensor of shape "
        f"{t.shape}) {what}. Call backward() before changing it, or run the forward again")
