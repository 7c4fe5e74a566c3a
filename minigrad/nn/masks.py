"""Run a model with explicit dropout masks: collect the ones it draws, or replay given ones.

A training forward pass samples one "thinned" network. Knowing its masks lets you
replay exactly that network (to inspect it, or to check gradients exactly), or run a
network whose masks you chose by hand.
"""
from .dropout import Dropout
from .fused_linear import FusedLinear


def dropout_layers(model):
    """The model's Dropout layers, in the order ``Module.modules()`` visits them."""
    return [m for m in model.modules() if isinstance(m, Dropout)]


def forward_with_masks(model, x, masks=None):
    """Run ``model(x)`` in its current mode; return ``(output, masks)``.

    Args:
        model: a Module containing Dropout layers.
        x: the input Tensor.
        masks: None to draw fresh masks, or a list with one keep-mask (bool or 0/1
            array shaped like that layer's input, or None to draw) per Dropout layer,
            in ``dropout_layers(model)`` order. Given masks need training mode.

    Returns:
        The output and the list of keep-masks the Dropout layers used (None for a layer
        that was inactive).
    """
    # (a fused GaussianDropout has no mask, and is run as the unfused one would be)
    fused = [name for name, m in model.named_modules()
             if isinstance(m, FusedLinear) and m.p > 0 and m.noise == "bernoulli"]
    if fused:
        raise ValueError(
            f"forward_with_masks: layers {fused} are FusedLinear with dropout, whose kernel "
            "never materialises a mask; run the unfused model instead (nn.fuse returned a "
            "new model and left its argument unfused, with the same parameters), or build "
            "it with dropout_mlp(..., fused=False) and load_state_dict(model.state_dict()): "
            "the keys are the same")
    layers = dropout_layers(model)
    if masks is not None and len(masks) != len(layers):
        raise ValueError(f"forward_with_masks: got {len(masks)} masks for "
                         f"{len(layers)} Dropout layers")
    if masks is not None and not model.training and any(m is not None for m in masks):
        raise ValueError("forward_with_masks: masks replay training-mode dropout; "
                         "call model.train() first")
    try:
        for layer, mask in zip(layers, masks or [None] * len(layers)):
            layer.replay_mask = mask
        out = model(x)
    finally:
        for layer in layers:
            layer.replay_mask = None
    return out, [layer.last_mask for layer in layers]
