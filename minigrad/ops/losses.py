"""Loss functions: cross-entropy on logits (fused log-softmax + NLL) and mean squared error."""
import numpy as np

from ..checks import check_choice
from ..tensor import Function, Tensor
from .broadcasting import as_operands
from .softmax import stable_log_softmax

REDUCTIONS = ("mean", "sum", "none")


def _reduce(values, reduction):
    if reduction == "mean":
        return np.asarray(values.mean())
    if reduction == "sum":
        return np.asarray(values.sum())
    return values


def _reduction_scale(grad, reduction, count):
    """The upstream gradient broadcast per sample: g/count, g, or g itself ('none')."""
    if reduction == "mean":
        return grad / grad.dtype.type(count)
    return grad


class CrossEntropy(Function):
    """For loss_i = -log softmax(z_i)[y_i]: dz_i = softmax(z_i) - onehot(y_i)."""

    def forward(self, logits, labels, reduction):
        self.labels, self.reduction = labels, reduction
        self.log_probs = stable_log_softmax(logits, axis=1)
        losses = -self.log_probs[np.arange(len(labels)), labels]
        return _reduce(losses, reduction)

    def backward(self, grad):
        n = len(self.labels)
        dlogits = np.exp(self.log_probs)
        dlogits[np.arange(n), self.labels] -= 1
        scale = _reduction_scale(grad, self.reduction, n)
        return (dlogits * (scale[:, None] if self.reduction == "none" else scale),)


class MSELoss(Function):
    """For loss = mean((p - t)**2): dp = 2 (p - t) / n and dt = -dp."""

    def forward(self, pred, target, reduction):
        self.diff, self.reduction = pred - target, reduction
        return _reduce(self.diff * self.diff, reduction)

    def backward(self, grad):
        dpred = 2 * self.diff * _reduction_scale(grad, self.reduction, self.diff.size)
        need_pred, need_target = self.needs_input_grad
        return (dpred if need_pred else None, -dpred if need_target else None)


def _check_labels(labels, n, num_classes):
    """Integer class labels of shape (n,) with values in [0, num_classes)."""
    if isinstance(labels, Tensor):
        raise TypeError("labels must be an integer numpy array or list, not a (float) Tensor")
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match the logits, got {labels.shape}")
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}), got values from "
                         f"{labels.min()} to {labels.max()}")
    return labels.astype(np.intp, copy=False)


def cross_entropy(logits, labels, reduction="mean"):
    """Cross-entropy between softmax(logits) and integer class labels.

    ``loss_i = -log(exp(z[i, y_i]) / sum_j exp(z[i, j]))``, computed as a fused, stable
    log-softmax followed by the negative log-likelihood of the true class.

    Args:
        logits: Tensor of shape (N, C), unnormalised class scores.
        labels: integer array-like of shape (N,), values in [0, C).
        reduction: "mean" (default), "sum" or "none" (per-sample losses, shape (N,)).
    """
    check_choice("cross_entropy: reduction", reduction, REDUCTIONS)
    if not isinstance(logits, Tensor):
        raise TypeError(f"logits must be a Tensor, got {type(logits).__name__}")
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got {logits.shape}")
    if logits.shape[0] == 0:
        raise ValueError("cross_entropy of an empty batch (N = 0) is undefined")
    labels = _check_labels(labels, logits.shape[0], logits.shape[1])
    return CrossEntropy.apply(logits, labels=labels, reduction=reduction)


def mse_loss(pred, target, reduction="mean"):
    """Mean squared error ``mean((pred - target)**2)``; ``pred`` and ``target`` share a shape."""
    check_choice("mse_loss: reduction", reduction, REDUCTIONS)
    pred, target = as_operands("mse_loss", pred, target)
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred shape {pred.shape} != target shape {target.shape}")
    if pred.size == 0:
        raise ValueError("mse_loss of an empty tensor is undefined")
    return MSELoss.apply(pred, target, reduction=reduction)
