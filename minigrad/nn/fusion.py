"""``fuse``: the explicit step that turns Linear -> ReLU [-> Dropout] runs into FusedLinear.

(The Dropout may also be a ``GaussianDropout``: its noise is fused the same way.)

Fusion is an optimisation you ask for, and can see: ``fuse(model)`` returns a model in
which each run of an exact ``Linear``, ``ReLU`` and optional ``Dropout`` inside a
``Sequential`` is one ``nn.FusedLinear`` (``repr`` shows it), computed by one kernel
with bit-identical results. Layers of other types, subclasses included, are left as
they are: a ``class MyDropout(nn.Dropout)`` keeps its own ``forward``.

The fused model keeps the original layer names (the FusedLinear takes the Linear's
name, the ReLU and Dropout names are gone), so its ``state_dict`` has the same keys and
a checkpoint loads into either form. ``dropout_mlp`` fuses by default; pass
``fused=False`` for the plain layers (to step through ``Dropout.forward``, or to read
masks with ``nn.forward_with_masks``).
"""
import copy

from .activation import ReLU
from .container import Sequential
from .dropout import Dropout
from .fused_linear import FusedLinear
from .gaussian_dropout import GaussianDropout
from .linear import Linear
from .module import Module


def fuse(model):
    """Return ``model`` with every Linear -> ReLU [-> Dropout] run of its Sequentials fused.

    The argument is not changed. The result is a new tree of containers around the
    same leaf layers and Parameters: train either model and both change (an optimizer
    built on ``model.parameters()`` drives the fused model too). A leaf layer comes
    back as it is.

    Example::

        >>> from minigrad.nn import Dropout, Linear, ReLU, Sequential, fuse
        >>> model = Sequential(Dropout(0.2), Linear(784, 1024, rng=0), ReLU(), Dropout(0.5),
        ...                    Linear(1024, 10, rng=1))
        >>> fuse(model)
        Sequential(
          (0): Dropout(p=0.2, mode='inverted')
          (1): FusedLinear(in_features=784, out_features=1024, bias=True, relu=True, p=0.5, mode='inverted')
          (4): Linear(in_features=1024, out_features=10, bias=True)
        )
        >>> sorted(fuse(model).state_dict()) == sorted(model.state_dict())
        True
    """
    if not isinstance(model, Module):
        raise TypeError(f"fuse: model must be a minigrad.nn.Module, got {type(model).__name__}")
    children = list(model._modules.items())
    if not children:
        return model  # a leaf layer: shared, not copied
    fused = _fuse_runs(children) if isinstance(model, Sequential) else [
        (name, None if child is None else fuse(child)) for name, child in children]
    clone = copy.copy(model)  # same attributes; its registries are rebuilt below
    object.__setattr__(clone, "_parameters", dict(model._parameters))
    object.__setattr__(clone, "_modules", {})
    for name, _ in children:
        del clone.__dict__[name]
    for name, child in fused:
        setattr(clone, name, child)
    return clone


def _fuse_runs(children):
    """The ``(name, layer)`` list of a Sequential with its Linear-ReLU[-Dropout] runs fused."""
    fused, i = [], 0
    while i < len(children):
        name, layer = children[i]
        following = [child for _, child in children[i + 1:i + 3]]
        if type(layer) is Linear and following and type(following[0]) is ReLU:
            dropout = following[1] if len(following) > 1 and type(following[1]) in (
                Dropout, GaussianDropout) else None
            if dropout is not None and dropout.shared_axes:  # the kernel draws per element
                dropout = None
            fused.append((name, FusedLinear(layer, dropout)))
            i += 2 if dropout is None else 3
        else:
            fused.append((name, None if layer is None else fuse(layer)))
            i += 1
    return fused
