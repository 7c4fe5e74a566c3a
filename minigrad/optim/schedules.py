"""The hyperparameter schedules of the dropout papers, as functions of the epoch.

Hinton et al. (2012) and Srivastava et al. (2014) train MNIST nets with a high learning
rate decayed by a constant factor every epoch, and momentum raised linearly from 0.5 to
0.99 over the first few hundred epochs and then held. Each schedule is a callable
``schedule(epoch) -> value`` (epochs count from 0); ``apply_schedules`` sets them on an
optimizer at the start of an epoch.
"""
from ..checks import check_int, check_number, check_real


class ExponentialDecay:
    """``initial * factor ** epoch`` (e.g. factor 0.998 per epoch)."""

    def __init__(self, initial, factor):
        self.initial = check_number("ExponentialDecay: initial", initial)
        self.factor = check_real("ExponentialDecay: factor", factor, 0, 1, low_open=True)

    def __call__(self, epoch):
        return self.initial * self.factor ** epoch

    def __repr__(self):
        return f"ExponentialDecay(initial={self.initial}, factor={self.factor})"


class LinearRamp:
    """From ``start`` at epoch 0 linearly to ``end`` at epoch ``epochs``, then held at ``end``."""

    def __init__(self, start, end, epochs):
        self.start = check_number("LinearRamp: start", start)
        self.end = check_number("LinearRamp: end", end)
        # ValueError for every bad length, of any kind: what LinearRamp has always raised
        self.epochs = check_int("LinearRamp: epochs", epochs, minimum=0, type_error=ValueError)

    def __call__(self, epoch):
        if self.epochs == 0 or epoch >= self.epochs:
            return self.end
        return self.start + (self.end - self.start) * epoch / self.epochs

    def __repr__(self):
        return f"LinearRamp(start={self.start}, end={self.end}, epochs={self.epochs})"


def apply_schedules(optimizer, epoch, lr=None, momentum=None):
    """Set ``optimizer.lr`` / ``optimizer.momentum`` from the schedules for this epoch."""
    if lr is not None:
        optimizer.lr = lr(epoch)
    if momentum is not None:
        optimizer.momentum = momentum(epoch)
