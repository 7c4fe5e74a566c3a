"""Fusing Linear -> ReLU -> Dropout runs inside ``Sequential`` (an optimisation only).

``Sequential.forward`` hands its layers to ``run_layers``, which looks for a
``Linear`` optionally followed by ``ReLU`` and then ``Dropout``, and runs each such run
as one ``ops.fused.FusedLinear``: one GEMM whose write-back adds the bias, rectifies
and drops (``minigrad.ops.fused`` explains the maths). The result is bit-identical to
running the layers one by one: the same kernels' arithmetic, and the Dropout layer's
own Generator draws the seed exactly as the unfused op would.

A Dropout layer is left out of a fused run when its mask is needed: a mask to replay
(``replay_mask``) or to record (``capture_mask``, set by ``forward_with_masks``).
``set_fusion(False)`` turns fusion off everywhere (to compare, or to debug).
"""
from ..ops.fused import fused_linear
from ..random import draw_seed
from .activation import ReLU
from .dropout import Dropout
from .linear import Linear

_enabled = True


def set_fusion(enabled):
    """Turn layer fusion in ``Sequential`` on (default) or off."""
    global _enabled
    _enabled = bool(enabled)


def fusion_enabled():
    """True unless ``set_fusion(False)`` turned layer fusion off."""
    return _enabled


def _fusable_dropout(layer):
    """True for a Dropout whose training-mode mask nobody needs to see."""
    return (isinstance(layer, Dropout) and layer.training and layer.p > 0
            and layer.replay_mask is None and not layer.capture_mask)


def run_layers(layers, x):
    """Apply ``layers`` in order to ``x``, fusing Linear[-ReLU[-Dropout]] runs."""
    i, n = 0, len(layers)
    while i < n:
        layer = layers[i]
        if not (_enabled and type(layer) is Linear):
            x = layer(x)
            i += 1
            continue
        relu = i + 1 < n and type(layers[i + 1]) is ReLU
        dropout = layers[i + 2] if relu and i + 2 < n and _fusable_dropout(layers[i + 2]) else None
        p, seed, inverted = 0.0, None, True
        if dropout is not None:
            p, inverted = dropout.p, dropout.mode == "inverted"
            seed = draw_seed(dropout.rng)
            dropout.last_mask = None
        x = fused_linear(x, layer.weight, layer.bias, relu=relu, p=p, seed=seed,
                         inverted=inverted)
        i += 1 + relu + (dropout is not None)
    return x
