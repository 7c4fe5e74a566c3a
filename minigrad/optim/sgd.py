"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""
import math
import numbers

import numpy as np

from ..autograd import bump_version
from ..kernels import dispatch
from ..tensor import Tensor


def _check_nonnegative(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"SGD: {name} must be a real number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        number = math.inf
    if not (number >= 0 and math.isfinite(number)):  # also rejects NaN
        raise ValueError(f"SGD: {name} must be >= 0 and finite, got {value}")
    return number


class SGD:
    """SGD. For each parameter w with gradient g, one ``step()`` computes

        g <- g + weight_decay * w
        v <- momentum * v + g                  (v starts at 0)
        d <- g + momentum * v   if nesterov    else   d <- v
        w <- w - lr * d

    then applies constraints: the parameter's own (``Linear(max_norm=...)``) and, if
    given, ``constraint`` to every 2-D parameter (weight matrices; biases never).
    This is PyTorch's formulation (the learning rate multiplies the whole velocity),
    so ``lr`` and ``momentum`` can be changed between steps by a schedule.

    Every write bumps the parameter's version, so a backward through a graph built
    before the step raises instead of mixing old activations with new weights
    (``minigrad.autograd``): call ``loss.backward()`` before ``step()``.

    Args:
        params: iterable of Parameters (e.g. ``model.parameters()``).
        lr: learning rate (> 0).
        momentum: in [0, 1).
        nesterov: use Nesterov momentum (needs momentum > 0).
        weight_decay: L2 penalty coefficient (>= 0).
        constraint: optional callable (e.g. ``MaxNorm(3.0)``) applied to every 2-D
            parameter after each step.
    """

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0,
                 constraint=None):
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"SGD: params[{i}] is a {type(p).__name__}, not a Parameter "
                                "(pass model.parameters())")
        if not self.params:
            raise ValueError("SGD: got an empty parameter list")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("SGD: a parameter appears more than once")
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = _check_nonnegative("weight_decay", weight_decay)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov momentum needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.constraint = constraint
        self.velocity = [None] * len(self.params)

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        value = _check_nonnegative("lr", value)
        if value == 0:
            raise ValueError("SGD: lr must be > 0")
        self._lr = value

    @property
    def momentum(self):
        return self._momentum

    @momentum.setter
    def momentum(self, value):
        value = _check_nonnegative("momentum", value)
        if value >= 1:
            raise ValueError(f"SGD: momentum must be < 1, got {value}")
        self._momentum = value

    def zero_grad(self):
        """Clear every parameter's gradient."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient, then apply the constraints.

        The update itself is one fused kernel pass per parameter
        (``minigrad.kernels.dispatch.sgd_update_``).
        """
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            if self.momentum and self.velocity[i] is None:
                self.velocity[i] = np.zeros_like(p.data)
            dispatch.sgd_update_(p.data, p.grad, self.velocity[i], self.lr, self.momentum,
                                 self.weight_decay, self.nesterov)
            bump_version(p)
            if p.constraint is not None:
                p.constraint(p)
            if self.constraint is not None and p.ndim == 2:
                self.constraint(p)

    def state_dict(self):
        """Hyperparameters and momentum buffers (numpy arrays), for checkpoints."""
        state = {"lr": np.float64(self.lr), "momentum": np.float64(self.momentum),
                 "weight_decay": np.float64(self.weight_decay),
                 "nesterov": np.bool_(self.nesterov)}
        for i, v in enumerate(self.velocity):
            if v is not None:
                state[f"velocity.{i}"] = v.copy()
        return state

    def load_state_dict(self, state):
        """Restore what ``state_dict`` saved (the parameter list must be the same)."""
        self.lr = float(state["lr"])
        self.momentum = float(state["momentum"])
        self.weight_decay = _check_nonnegative("weight_decay", float(state["weight_decay"]))
        self.nesterov = bool(state["nesterov"])
        velocity = [None] * len(self.params)
        for key, value in state.items():
            if not key.startswith("velocity."):
                continue
            i = int(key.split(".", 1)[1])
            if not 0 <= i < len(self.params) or value.shape != self.params[i].shape:
                raise ValueError(f"SGD.load_state_dict: {key} of shape {value.shape} does not "
                                 "match the optimizer's parameters")
            velocity[i] = np.array(value, dtype=self.params[i].dtype)
        self.velocity = velocity
