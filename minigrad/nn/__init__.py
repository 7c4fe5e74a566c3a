"""Layers and models: Module, Parameter, Linear, ReLU, SELU, Sequential, MaxNorm, and the
dropout family (Dropout, GaussianDropout, AlphaDropout, ConcreteDropout, DropConnectLinear);
Monte Carlo dropout and its uncertainty measures, and auroc for out-of-distribution detection.

``fuse`` turns Linear -> ReLU [-> Dropout] runs into one ``FusedLinear`` (one kernel).
"""
from .activation import SELU, ReLU
from .alpha_dropout import AlphaDropout
from .concrete_dropout import (ConcreteDropout, concrete_dropout_regularization,
                               regularizer_strengths)
from .constraints import MaxNorm
from .container import Sequential
from .detection import auroc
from .dropconnect import DropConnectLinear
from .dropout import Dropout
from .fused_linear import FusedLinear
from .fusion import fuse
from .gaussian_dropout import GaussianDropout
from .linear import Linear
from .masks import dropout_layers, forward_with_masks
from .mc_dropout import mc_class_probabilities, mc_dropout_predict
from .module import Module
from .parameter import Parameter
from .uncertainty import (expected_entropy, mutual_information, predictive_entropy,
                          predictive_mean, variation_ratio)
