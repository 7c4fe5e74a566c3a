"""Tensors and Functions: the values of a computation graph and the ops between them.

``Tensor`` is deliberately thin. It holds

- ``data``: a float32 or float64 numpy array;
- ``requires_grad``: whether gradients flow to it;
- ``grad``: d(loss)/d(data) as a numpy array, filled by ``backward`` on leaf tensors;
- ``_fn``: the ``Function`` that produced it (None for leaves and untracked results);
- ``_version``: how many in-place writes minigrad made to ``data`` (see
  ``minigrad.autograd`` for how backward uses it).

Its operators and methods only delegate to ``minigrad.ops``; the maths lives there.

``Function`` is the base class of every op: ``forward`` and ``backward`` side by side,
and ``apply``, which runs the forward on Tensors and records the op in the result's
``_fn``.

How the core modules import each other
--------------------------------------
A Tensor links to the Function that made it, and ``Function.apply`` makes Tensors:
the two classes need each other, so they share this module (as in early tinygrad).
Below them, ``minigrad.autograd`` (grad mode and the backward walk) imports nothing
from minigrad; above them, the ops subclass Function::

    nn, optim, ... --> ops --> tensor --> autograd
                        ^        |
                        '--------'   Tensor's operators call the ops

The arrow back from ``tensor`` to ``ops`` is the one import cycle (tinygrad's idiom):
``a + b`` calls ``ops.add``, and the ops need Tensor and Function. ``ops`` is imported
at the bottom of this file, once both classes exist, so either side can be imported
first. ``tests/autograd/test_import_graph.py`` keeps it the only cycle in minigrad.
"""
import numpy as np

from .autograd import grad_mode, run_backward
from .checks import check_bool

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
DEFAULT_DTYPE = np.dtype(np.float32)


def _exact_floats(array, dtype):
    """``array`` (integers or bools) as ``dtype``, refusing an integer it cannot hold exactly.

    float32 holds every integer up to 2**24 = 16777216 exactly, float64 every one up to
    2**53; beyond that some round (16777217 would become the float32 16777216).
    """
    converted = array.astype(dtype)
    if array.dtype.kind == "b":
        return converted
    info = np.iinfo(array.dtype)
    if max(-info.min, info.max) <= 2 ** (np.finfo(dtype).nmant + 1):  # all exact
        return converted
    # Compare in the integer type. The type's maximum 2**k - 1 has no exact float here,
    # so a float at or above it is inexact, and masked out before it overflows back.
    fits = converted < float(info.max)
    exact = fits & (np.where(fits, converted, 0).astype(array.dtype) == array)
    if not exact.all():
        index = np.unravel_index(np.argmin(exact), array.shape)
        value = array[index]
        advice = ("pass dtype=np.float64, which holds every integer up to 2**53 exactly"
                  if dtype == np.float32 and abs(int(value)) <= 2**53
                  else "round the data to floats yourself if that is intended")
        raise ValueError(f"the integer {value} has no exact {dtype} value (it would become "
                         f"{converted[index]:.0f}); {advice}")
    return converted


def _to_float_array(data, dtype):
    """Convert user data to a float32/float64 array, refusing silent lossy conversions.

    Floats round to the nearest float32 as floats do; integers must convert exactly.
    """
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"minigrad tensors are float32 or float64, not {dtype}")
    if isinstance(data, np.ndarray):
        if data.dtype.kind == "c" or data.dtype == object:
            raise TypeError(f"cannot make a tensor from an array of dtype {data.dtype}")
        if dtype is None:
            if data.dtype not in FLOAT_DTYPES:
                raise TypeError(
                    f"cannot make a tensor from an array of dtype {data.dtype}: minigrad "
                    "computes in float32 or float64; pass dtype=np.float32 to convert")
            return data
    else:
        array = np.asarray(data)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"cannot make a tensor from {type(data).__name__} "
                            f"(numpy sees dtype {array.dtype})")
        data = array
    if dtype is None:
        dtype = DEFAULT_DTYPE
    if data.dtype.kind in "biu":
        return _exact_floats(data, dtype)
    return data.astype(dtype, copy=False)


class Tensor:
    """An n-dimensional float array that records the ops applied to it for autograd.

    Args:
        data: array-like. numpy float32/float64 arrays keep their dtype (and are not
            copied); Python numbers and lists become float32 unless ``dtype`` says
            otherwise; numpy arrays of other dtypes need an explicit ``dtype``. Integers
            must convert exactly: ``tensor([16777217])`` (2**24 + 1, which float32
            cannot hold) is a ValueError; ``dtype=np.float64`` holds it.
        requires_grad: track ops on this tensor so ``backward`` fills ``.grad``.
        dtype: np.float32 or np.float64.

    Example::

        >>> x = Tensor([[1.0, -2.0]], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([[ 2., -4.]], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "_fn", "_version", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = _to_float_array(data, dtype)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._fn = None
        self._version = 0

    @classmethod
    def _from_op(cls, data, fn):
        """Wrap an op's output without re-validating it (the op produced a float array)."""
        t = cls.__new__(cls)
        t.data, t.grad, t._fn, t._version = data, None, fn, 0
        t.requires_grad = fn is not None
        return t

    # ---- array-like attributes -------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def __bool__(self):
        """The truth value of a one-element tensor; any other size is ambiguous (as numpy)."""
        if self.data.size != 1:
            which = "no elements" if self.data.size == 0 else "more than one element"
            raise ValueError(f"The truth value of a Tensor with {which} is ambiguous "
                             f"(shape {self.shape}); use t.data.any() or t.data.all()")
        return bool(self.data)

    def numpy(self):
        """The underlying numpy array (shared, not copied)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}, dtype={self.dtype}{grad})"

    # ---- autograd ------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires it.

        Args:
            grad: the upstream gradient d(loss)/d(self), shaped like ``self``. May be
                omitted when ``self`` has exactly one element (it is then 1).
            retain_graph: keep the graph's saved state for another backward. By default
                it is freed as the pass goes, and a second backward through the graph
                raises RuntimeError (it would add every gradient in again).

        Raises RuntimeError, before any gradient changes, if the graph was freed or if
        an array it saved was modified in place since the forward (``minigrad.autograd``).
        """
        retain_graph = check_bool("backward(): retain_graph", retain_graph)
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad "
                               "(no input had requires_grad=True, or it was made under no_grad)")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward() without a gradient needs a one-element tensor, "
                                 f"got shape {self.shape}; pass grad=")
            grad = np.ones_like(self.data)
        else:
            grad = _to_float_array(grad.data if isinstance(grad, Tensor) else grad, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): grad shape {grad.shape} != tensor shape {self.shape}")
        run_backward(self, grad, retain_graph=bool(retain_graph))

    def detach(self):
        """A new leaf tensor sharing this data, cut off from the graph."""
        return Tensor._from_op(self.data, None)

    def zero_grad(self):
        """Forget the accumulated gradient (``grad = None``)."""
        self.grad = None

    # ---- operators (maths in minigrad.ops) -------------------------------------------
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __neg__(self): return ops.neg(self)
    def __pow__(self, exponent): return ops.pow(self, exponent)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)

    def sum(self, axis=None, keepdims=False): return ops.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return ops.mean(self, axis, keepdims)
    def reshape(self, *shape): return ops.reshape(self, *shape)
    def transpose(self, *axes): return ops.transpose(self, *axes)
    def astype(self, dtype): return ops.astype(self, dtype)
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def relu(self): return ops.relu(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def softmax(self, axis=-1): return ops.softmax(self, axis)
    def log_softmax(self, axis=-1): return ops.log_softmax(self, axis)

    @property
    def T(self):
        """The tensor with its axes reversed (a differentiable transpose)."""
        return ops.transpose(self)


def tensor(data, requires_grad=False, dtype=None):
    """Create a Tensor (see ``Tensor`` for the dtype rules)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


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
    the arrays they receive (``minigrad.autograd._adopt_or_accumulate``).
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
        """Keep input or output arrays for backward (checked there, see ``minigrad.autograd``)."""
        self.saved_arrays = arrays

    def saves(self, t):
        """True if this op saved the array of its input ``t`` for backward."""
        return any(t.data is a for a in self.saved_arrays)

    @classmethod
    def apply(cls, *inputs, **options):
        """Run the op on Tensors ``inputs``; record it in the graph if gradients are wanted."""
        return cls.apply_returning_op(*inputs, **options)[0]

    @classmethod
    def apply_returning_op(cls, *inputs, **options):
        """Like ``apply``, but return ``(output, op)`` so a caller can read saved state."""
        fn = cls()
        needs = tuple(t.requires_grad for t in inputs) if grad_mode.enabled else ()
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
        """Copy the saved arrays of inputs that are your grad leaves (``minigrad.autograd``)."""
        copies = []
        for i, t in enumerate(self.inputs):
            # cheap tests first: in a training step every input fails one of them
            if (t.requires_grad and t._fn is None and type(t) is Tensor and self.saves(t)
                    and all(t.data is not c[1] for c in copies)):
                copies.append((i, t.data, t.data.copy()))
        if copies:
            self.saved_copies = copies

    def release(self):
        """Free the saved state: backward has run and must not run again."""
        self.__dict__.clear()
        self.released = True


from . import ops  # noqa: E402  (the one import cycle: see the module docstring)
