"""Matrix product of two 2-D tensors, by minigrad's GEMM kernel."""
from ..tensor import Function
from ..kernels import dispatch
from .broadcasting import as_operands


class MatMul(Function):
    """For C = A @ B: dA = dC @ B.T and dB = A.T @ dC (no transpose is materialised)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return dispatch.matmul(a, b)

    def backward(self, grad):
        a, b = self.saved_arrays
        need_a, need_b = self.needs_input_grad
        return (dispatch.matmul(grad, b, trans_b=True) if need_a else None,
                dispatch.matmul(a, grad, trans_a=True) if need_b else None)


def matrix_operands(op, a, b):
    """``a`` and ``b`` as Tensors of one dtype and shapes (m, k) and (k, n), for ``op``."""
    a, b = as_operands(op, a, b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{op} takes 2-D tensors, got shapes {a.shape} and {b.shape}; "
                         "reshape vectors to (1, k) or (k, 1)")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not align "
                         f"({a.shape[1]} != {b.shape[0]})")
    return a, b


def matmul(a, b):
    """``a @ b`` for 2-D tensors of shapes (m, k) and (k, n).

    Vectors and batches are not supported: reshape a vector to (1, k) or (k, 1).
    """
    return MatMul.apply(*matrix_operands("matmul", a, b))
