"""Layers and models: Module, Parameter, Linear, ReLU, Dropout, GaussianDropout, Sequential,
MaxNorm, DropConnectLinear.

``fuse`` turns Linear -> ReLU [-> Dropout] runs into one ``FusedLinear`` (one kernel).
"""
from .activation import ReLU
from .constraints import MaxNorm
from .container import Sequential
from .dropconnect import DropConnectLinear
from .dropout import Dropout
from .fused_linear import FusedLinear
from .fusion import fuse
from .gaussian_dropout import GaussianDropout
from .linear import Linear
from .masks import dropout_layers, forward_with_masks
from .mc_dropout import mc_dropout_predict
from .module import Module
from .parameter import Parameter
from .mc_dropout import mc_class_probabilities
from .uncertainty import (expected_entropy, mutual_information, predictive_entropy,
                          predictive_mean, variation_ratio)
