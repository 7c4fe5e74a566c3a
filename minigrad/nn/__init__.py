"""Layers and models: Module, Parameter, Linear, ReLU, Dropout, Sequential, MaxNorm."""
from .activation import ReLU
from .constraints import MaxNorm
from .container import Sequential
from .dropout import Dropout
from .linear import Linear
from .masks import dropout_layers, forward_with_masks
from .mc_dropout import mc_dropout_predict
from .module import Module
from .parameter import Parameter
from .fusion import fusion_enabled, set_fusion
