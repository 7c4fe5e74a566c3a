"""Module: the base class of layers and models (PyTorch's names and semantics).

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it, so
``parameters()``, ``state_dict()``, ``train()`` and ``eval()`` reach everything inside:

    class MLP(Module):
        def __init__(self):
            super().__init__()
            self.hidden = Linear(784, 256)
            self.out = Linear(256, 10)

        def forward(self, x):
            return self.out(self.hidden(x).relu())
"""
import numpy as np

from ..autograd import bump_version
from ..checks import check_bool
from .parameter import Parameter


def _type_name(value):
    """``numpy.ndarray``, ``minigrad.tensor.Tensor``, ``int``: what an assignment got."""
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class Module:
    """Base class: registers sub-modules and parameters, switches train/eval mode."""

    #: True for the layers whose training-mode forward draws random noise from
    #: ``self.rng`` (None: the library Generator): the dropout family. Monte Carlo
    #: dropout (``nn.mc_dropout_predict``, ``nn.mc_class_probabilities``) switches exactly
    #: these to training mode for its passes, and leaves every other layer as it is.
    stochastic = False

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        """Register Parameters and Modules; refuse to replace one by anything else but None.

        ``layer.weight = layer.weight.data * 2`` would otherwise leave an unregistered
        array behind: missing from ``parameters()`` and ``state_dict()``, while the
        optimizer kept updating the old Parameter. As in PyTorch, a registered name
        takes a Parameter (or Module) or None; None keeps the name registered, empty.
        """
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 "before assigning attributes")
        params, modules = self._parameters, self._modules
        if isinstance(value, Parameter):
            modules.pop(name, None)
            params[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {_type_name(value)!r} as parameter {name!r} "
                                "(minigrad.nn.Parameter or None expected); to change its "
                                f"values write them in place ({name}.data[...] = new) or "
                                "assign nn.Parameter(new)")
            params[name] = None
        elif isinstance(value, Module):
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {_type_name(value)!r} as child module "
                                f"{name!r} (minigrad.nn.Module or None expected)")
            modules[name] = None
        object.__setattr__(self, name, value)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for "this layer has none") as ``name``.

        Like PyTorch's: ``Linear(bias=False)`` registers ``bias`` as None, so the name is
        guarded (assigning an array to it later is a TypeError) and skipped by
        ``parameters()`` and ``state_dict()``.
        """
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register {_type_name(param)!r} as parameter {name!r} "
                            "(minigrad.nn.Parameter or None expected)")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- traversal -------------------------------------------------------------------
    def named_modules(self, prefix=""):
        """Yield ``(dotted name, module)`` for this module and every sub-module, once each."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child}" if name else child, m)
                        for child, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        """Every module in the tree (this one first), in registration order."""
        return (m for _, m in self.named_modules())

    def named_parameters(self):
        """Yield ``(dotted name, parameter)``; a parameter shared by two layers appears once."""
        seen = set()
        for module_name, module in self.named_modules():
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self):
        """Every parameter of the tree, each once, in registration order."""
        return [p for _, p in self.named_parameters()]

    # ---- modes and gradients -----------------------------------------------------------
    def train(self, mode=True):
        """Set training mode on this module and all sub-modules (dropout active).

        ``mode`` is a bool: ``train(False)`` is ``eval()``.
        """
        mode = check_bool(f"{type(self).__name__}.train: mode", mode)
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        """Set evaluation mode on this module and all sub-modules (dropout inactive)."""
        return self.train(False)

    def zero_grad(self):
        """Clear the gradient of every parameter."""
        for p in self.parameters():
            p.grad = None

    # ---- state --------------------------------------------------------------------------
    def state_dict(self):
        """A dict ``dotted name -> numpy array`` (a copy) of every parameter."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state, strict=True):
        """Copy arrays from ``state`` into the parameters of the same name.

        With ``strict=True`` (default) the key sets must match exactly; any missing or
        unexpected key, like any shape or dtype mismatch, raises with the full list.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        own = dict(self.named_parameters())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        problems = []
        for name in sorted(set(own) & set(state)):
            value = np.asarray(state[name])
            if value.shape != own[name].shape:
                problems.append(f"{name}: shape {value.shape} in the state, "
                                f"{own[name].shape} in the model")
            elif value.dtype != own[name].dtype:
                problems.append(f"{name}: dtype {value.dtype} in the state, "
                                f"{own[name].dtype} in the model")
        if strict and (missing or unexpected):
            problems += [f"missing key {k!r}" for k in missing]
            problems += [f"unexpected key {k!r}" for k in unexpected]
        if problems:
            raise ValueError("load_state_dict: " + "; ".join(problems))
        for name in set(own) & set(state):
            own[name].data[...] = state[name]
            bump_version(own[name])
        return missing, unexpected

    # ---- display ------------------------------------------------------------------------
    def extra_repr(self):
        """Arguments shown inside the parentheses of ``repr`` (override in layers)."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

