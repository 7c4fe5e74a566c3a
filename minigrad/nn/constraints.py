"""Max-norm: bound the L2 norm of each unit's incoming weight vector (Srivastava et al., 2014).

After every update, each hidden unit's incoming weight vector w is projected back onto
the ball ||w||_2 <= c: if ||w|| > c then w <- w * c / ||w||. Because the weights can never
grow large, the paper could use learning rates that would otherwise diverge; together
with dropout this gave its best MNIST results (c between 3 and 4).

Which axis: in minigrad a Linear weight has shape (in_features, out_features), so the
incoming weights of output unit j are the COLUMN ``weight[:, j]``. Bounding rows instead
(the other axis) is the most common max-norm bug in other libraries; ``tests/`` checks
the axis directly.
"""

from ..autograd import bump_version
from ..checks import check_real
from ..kernels import dispatch


class MaxNorm:
    """Weight constraint: every unit's incoming weight vector gets L2 norm <= ``c``.

    Call it on a weight matrix Parameter (shape (in_features, out_features)); columns
    already inside the ball are left bit-for-bit untouched. Attach it with
    ``Linear(..., max_norm=c)`` or pass it to an optimizer (``SGD(..., constraint=
    MaxNorm(c))``, which applies it to every 2-D parameter, never to biases); either way
    it is applied after every ``step()``.
    """

    def __init__(self, c):
        self.c = check_real("MaxNorm: c", c, low=0, low_open=True)

    def check(self, weight):
        """Refuse a tensor that is not a weight matrix (Parameter runs it when attached)."""
        if weight.ndim != 2:
            raise ValueError(f"MaxNorm applies to weight matrices (in, out); got shape "
                             f"{weight.shape}")

    def __call__(self, weight):
        """Project ``weight`` (a Parameter) in place, bumping its version (see autograd)."""
        self.check(weight)
        dispatch.max_norm_columns_(weight.data, self.c)
        bump_version(weight)

    def __repr__(self):
        return f"MaxNorm(c={self.c})"
