"""Sequential: layers applied one after another."""
from .module import Module


class Sequential(Module):
    """Apply ``layers`` in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Indexable by position (``model[0]``; slices give a new Sequential), iterable and
    sized. The layers are registered under the names "0", "1", ... (as in PyTorch's
    state_dict); ``nn.fuse`` keeps those names, so a fused model's may skip numbers.

    Example::

        >>> from minigrad.nn import Dropout, Linear, ReLU, Sequential
        >>> model = Sequential(Dropout(0.2), Linear(784, 1024), ReLU(), Dropout(0.5),
        ...                    Linear(1024, 10))
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, not a Module")
            setattr(self, str(i), layer)

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, index):
        layers = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*layers[index])
        return layers[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
