"""ReLU as a layer."""
from ..ops import relu
from .module import Module


class ReLU(Module):
    """Elementwise ``max(x, 0)``: the rectifier the dropout papers use for hidden units."""

    def forward(self, x):
        return relu(x)
