"""Optimizers and hyperparameter schedules."""
from .schedules import ExponentialDecay, LinearRamp, apply_schedules
from .sgd import SGD
