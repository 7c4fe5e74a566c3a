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


class Function:
    """A differentiable op. Subclasses define ``forward`` and ``backward``.

    ``forward(self, *arrays, **options)`` receives the inputs' numpy arrays and returns
    the output array; it may save what backward needs on ``self`` (the cheapest state:
    ReLU saves its output, not its input).

    ``backward(self, grad)`` receives d(loss)/d(output) and returns a tuple with one
    entry per input: d(loss)/d(input), shaped like that input, or None where
    ``self.needs_input_grad[i]`` is False (skipping work nobody needs). It must not
    modify ``grad`` in place (the same array may be handed to several ops), and it
    returns new arrays or views of ``grad``, never an array it keeps: leaves adopt
    the arrays they receive (see ``run_backward``).
    """

    inputs = ()
    needs_input_grad = ()

    def forward(self, *arrays, **options):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

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
        if any(needs):
            fn.inputs = inputs
            return Tensor._from_op(out, fn), fn
        return Tensor._from_op(out, None), fn


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


def _base_array(a):
    """The array that owns the memory ``a`` views (``a`` itself if it owns it)."""
    while a.base is not None and isinstance(a.base, np.ndarray):
        a = a.base
    return a


def run_backward(root, grad):
    """Propagate ``grad`` = d(loss)/d(root) to every leaf that requires a gradient.

    A leaf without a gradient *adopts* the array it receives instead of copying it
    (for a large weight matrix, a copy per step is measurable). That is safe because
    ``backward`` methods return either new arrays or views of the gradient they were
    given, never arrays they keep; an array is copied only when its memory might be
    shared: it belongs to the caller's ``grad``, another leaf already adopted it in
    this pass, or it is read-only (e.g. a broadcast view).
    """
    order = topological_order(root)
    pending = {id(root): grad}
    shared = {id(_base_array(grad))}  # memory a leaf must not adopt
    for node in reversed(order):
        g = pending.pop(id(node), None)
        if g is None:
            continue
        fn = node._fn
        if fn is None:  # a leaf: adopt or accumulate
            if node.grad is not None:
                node.grad += g
                continue
            base = _base_array(g)
            if id(base) in shared or not g.flags.writeable or g.dtype != node.data.dtype:
                g = np.array(g, dtype=node.data.dtype, copy=True)
                base = g
            shared.add(id(base))
            node.grad = g
            continue
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
