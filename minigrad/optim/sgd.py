"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""
from collections.abc import Mapping

import numpy as np

from ..autograd import bump_version
from ..checks import check_bool, check_real
from ..kernels import dispatch
from ..nn.constraints import MaxNorm
from ..nn.parameter import Parameter
from ..tensor import Tensor

HYPERPARAMETERS = ("lr", "momentum", "weight_decay", "nesterov")


def _check_lr(value):
    return check_real("SGD: lr", value, low=0, low_open=True)


def _check_momentum(value):
    return check_real("SGD: momentum", value, 0, 1, high_open=True)


def _check_weight_decay(value):
    return check_real("SGD: weight_decay", value, low=0)


def _check_nesterov(nesterov, momentum):
    nesterov = check_bool("SGD: nesterov", nesterov)
    if nesterov and momentum == 0:
        raise ValueError("SGD: nesterov momentum needs momentum > 0 (Nesterov momentum "
                         "requires a momentum), got momentum 0")
    return nesterov


def _check_params(params):
    """The parameter list, refusing what ``step`` could not update (before any step)."""
    if isinstance(params, Tensor):
        raise TypeError(f"SGD: params must be an iterable of Parameters, got a single "
                        f"{type(params).__name__}; pass [p] or model.parameters()")
    if isinstance(params, (set, frozenset)):
        raise TypeError("SGD: params must be an ordered iterable (a list, or "
                        "model.parameters()), not a set: the order names the momentum "
                        "buffers in state_dict()")
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(f"SGD: params[{i}] is a {type(p).__name__}, not a Parameter "
                            "(pass model.parameters(), or wrap a tensor: nn.Parameter(t))")
    if not params:
        raise ValueError("SGD: optimizer got an empty parameter list")
    if len({id(p) for p in params}) != len(params):
        raise ValueError("SGD: a parameter appears more than once")
    return params


def _scalar(state, key):
    """``state[key]`` as a Python scalar: a number, a numpy scalar or a 0-d array."""
    value = state[key]
    if isinstance(value, np.ndarray):
        if value.shape != ():
            raise ValueError(f"SGD.load_state_dict: {key} must be a scalar, got an array "
                             f"of shape {value.shape}")
        value = value.item()
    elif isinstance(value, np.generic):
        value = value.item()
    return value


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
        params: an ordered iterable of Parameters (e.g. ``model.parameters()``), each
            once; not a single Parameter, not a set.
        lr: learning rate (> 0).
        momentum: in [0, 1).
        nesterov: use Nesterov momentum (needs momentum > 0).
        weight_decay: L2 penalty coefficient (>= 0).
        constraint: optional callable (e.g. ``MaxNorm(3.0)``) applied to every 2-D
            parameter after each step.

    Example::

        >>> import numpy as np, minigrad
        >>> layer = minigrad.nn.Linear(3, 2, rng=0)
        >>> opt = SGD(layer.parameters(), lr=0.1, momentum=0.9)
        >>> x, target = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
        >>> opt.zero_grad()
        >>> minigrad.mse_loss(layer(minigrad.tensor(x)), target).backward()
        >>> opt.step()
    """

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0,
                 constraint=None):
        self.params = _check_params(params)
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = _check_weight_decay(weight_decay)
        self.nesterov = _check_nesterov(nesterov, self.momentum)
        self.constraint = constraint
        self.velocity = [None] * len(self.params)

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = _check_lr(value)

    @property
    def momentum(self):
        return self._momentum

    @momentum.setter
    def momentum(self, value):
        self._momentum = _check_momentum(value)

    def zero_grad(self):
        """Clear every parameter's gradient."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient, then apply the constraints.

        Every gradient is checked (a float array of its parameter's shape and dtype)
        before any parameter changes, so a bad one leaves all of them as they were.
        The update itself is one fused kernel pass per parameter
        (``minigrad.kernels.dispatch.sgd_update_``); a weight whose only constraint is
        a ``MaxNorm`` gets the update and the projection in that one pass
        (``dispatch.sgd_update_max_norm_``, bit for bit the same result).
        """
        for i, p in enumerate(self.params):
            g = p.grad
            if g is not None and not (isinstance(g, np.ndarray) and g.shape == p.data.shape
                                      and g.dtype == p.data.dtype):
                self._refuse_grad(i, p)
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            if self.momentum and self.velocity[i] is None:
                self.velocity[i] = np.zeros_like(p.data)
            constraints = [c for c in (p.constraint, self.constraint if p.ndim == 2 else None)
                           if c is not None]
            if len(constraints) == 1 and type(constraints[0]) is MaxNorm:
                # The paper's recipe, one pass over the weights: the update adds up the
                # column norms as it writes (bit for bit the update, then the projection).
                dispatch.sgd_update_max_norm_(p.data, p.grad, self.velocity[i], self.lr,
                                              self.momentum, self.weight_decay, self.nesterov,
                                              constraints[0].c)
                bump_version(p)
                continue
            dispatch.sgd_update_(p.data, p.grad, self.velocity[i], self.lr, self.momentum,
                                 self.weight_decay, self.nesterov)
            bump_version(p)
            for constraint in constraints:
                constraint(p)

    @staticmethod
    def _refuse_grad(i, p):
        """Raise the error that says what is wrong with ``p.grad`` (it does not fit ``p``)."""
        name = f"SGD.step: params[{i}].grad"
        dispatch.check_float_array(name, p.grad)
        if p.grad.dtype != p.dtype:
            raise TypeError(f"{name} has dtype {p.grad.dtype}, the parameter {p.dtype}")
        if p.grad.shape != p.shape:
            raise ValueError(f"{name} has shape {p.grad.shape}, the parameter {p.shape}")

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
        """Restore what ``state_dict`` saved (the parameter list must be the same).

        Everything is checked before anything is assigned, so a state that is refused
        leaves the optimizer exactly as it was: the four hyperparameters must be there
        and valid together (as the constructor checks them), and every other key must
        be ``velocity.<i>`` for a parameter ``i``, holding a finite array of that
        parameter's shape and dtype.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"SGD.load_state_dict: state must be a dict (from state_dict()), "
                            f"got {type(state).__name__}")
        missing = [key for key in HYPERPARAMETERS if key not in state]
        velocity_keys = {f"velocity.{i}": i for i in range(len(self.params))}
        unexpected = sorted(k for k in state if k not in HYPERPARAMETERS
                            and k not in velocity_keys)
        if missing or unexpected:
            raise ValueError(f"SGD.load_state_dict: missing keys {missing}, unexpected keys "
                             f"{unexpected} (velocity.<i> for i < {len(self.params)})")
        lr = _check_lr(_scalar(state, "lr"))
        momentum = _check_momentum(_scalar(state, "momentum"))
        weight_decay = _check_weight_decay(_scalar(state, "weight_decay"))
        nesterov = _check_nesterov(_scalar(state, "nesterov"), momentum)
        velocity = [None] * len(self.params)
        for key, i in velocity_keys.items():
            if key in state:
                velocity[i] = self._checked_velocity(key, state[key], self.params[i])
        bad = [key for key, i in velocity_keys.items()
               if velocity[i] is not None and not np.isfinite(velocity[i]).all()]
        if bad:
            raise ValueError(f"SGD.load_state_dict: {', '.join(bad)} hold NaN or infinity")
        self._lr, self._momentum, self.weight_decay, self.nesterov = (lr, momentum,
                                                                     weight_decay, nesterov)
        self.velocity = velocity

    @staticmethod
    def _checked_velocity(key, value, param):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"SGD.load_state_dict: {key} must be a numpy array, got "
                            f"{type(value).__name__}")
        if value.shape != param.shape:
            raise ValueError(f"SGD.load_state_dict: {key} of shape {value.shape} does not "
                             f"match its parameter's shape {param.shape}")
        if value.dtype != param.dtype:
            raise TypeError(f"SGD.load_state_dict: {key} of dtype {value.dtype} does not "
                            f"match its parameter's dtype {param.dtype}")
        return np.array(value, order="C")
