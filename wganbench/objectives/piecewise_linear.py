"""The gradient penalty's input gradient without the work that second derivatives make zero.

WGAN-GP's penalty (eq. 3) needs grad_x D(x_hat) as a function of the critic's weights, so
textbook code calls ``autograd.grad(D(x_hat), x_hat, create_graph=True)`` and back-propagates
through that gradient. For the critics of both papers (ReLU / LeakyReLU between linear and
convolution layers, no batch norm under a penalty) the input gradient is a product of the
weight matrices and of the activations' slope masks; the masks are piecewise constant in the
weights, so their derivative is zero almost everywhere. Autograd does not know this: its
double backward of ``relu`` / ``leaky_relu`` returns a zero tensor and sends it back through the
whole forward graph of x_hat, a matrix product per layer spent on zeros, and its double backward
of a convolution goes through a generic routine slower than a plain convolution.

Inside :func:`input_gradient`, the critic's forward on x_hat runs under a function mode that
swaps, for that call only:

* ``relu`` / ``leaky_relu`` for a function whose backward multiplies by the saved slope mask,
  treated as a constant (its exact derivative almost everywhere);
* ``linear`` / ``conv2d`` / ``baddbmm`` (stacked seed ensembles) for a function whose backward is the input gradient written as a
  differentiable ``matmul`` / ``conv_transpose2d`` of the incoming gradient and the weight, so
  the penalty's backward is a first-order backward of those ops.

The weights' gradient of the penalty is then exactly the textbook's (the dropped terms are
identically zero), in about 4 instead of 6 forward-pass equivalents. This holds only if every
other operation in the critic is linear in its input (reshapes, sums, means, average pooling,
residual additions): any other operation seen during the forward (batch norm, tanh, a product of
two activations, ...) makes :func:`input_gradient` fall back to the textbook computation for that
critic, and remember it.
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode


class _SlopeMask(torch.autograd.Function):
    """relu (slope 0) or leaky_relu: y = x where x > 0, slope * x elsewhere; the backward
    multiplies by the mask, which takes no gradient (it is piecewise constant)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float) -> torch.Tensor:
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.slope = slope
        return torch.where(positive, x, x * slope) if slope else x.clamp_min(0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (positive,) = ctx.saved_tensors
        if ctx.slope:
            return torch.where(positive, grad, grad * ctx.slope), None
        return grad * positive, None


class _Linear(torch.autograd.Function):
    """y = x W^T + b; backward: the input gradient g W, differentiable in g and W."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(weight)
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        return grad.matmul(weight.to(grad.dtype)), None, None


class _BatchedLinear(torch.autograd.Function):
    """y = bias + x @ weight_t for stacked networks (``torch.baddbmm``); backward: the input
    gradient g @ weight_t^T, differentiable in g and the weight."""

    @staticmethod
    def forward(ctx, bias, x, weight_t):
        ctx.save_for_backward(weight_t)
        return torch.baddbmm(bias, x, weight_t)

    @staticmethod
    def backward(ctx, grad):
        (weight_t,) = ctx.saved_tensors
        return None, torch.bmm(grad, weight_t.transpose(1, 2).to(grad.dtype)), None


class _Conv2d(torch.autograd.Function):
    """A 2-D convolution; backward: the input gradient as ``conv_transpose2d`` of the incoming
    gradient with the same weight (differentiable in both)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        ctx.save_for_backward(weight)
        ctx.geometry = (stride, padding, dilation, groups, x.shape[-2:])
        return torch.conv2d(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        stride, padding, dilation, groups, size = ctx.geometry
        k = weight.shape[-2:]
        # output_padding recovers input sizes that a strided convolution maps to the same output
        extra = tuple(size[i] - ((grad.shape[-2 + i] - 1) * stride[i] - 2 * padding[i]
                                 + dilation[i] * (k[i] - 1) + 1) for i in range(2))
        # (under autocast the incoming gradient is bfloat16; the cast of the float32 weight is
        # differentiable, so the weight's gradient comes back in float32)
        grad_x = F.conv_transpose2d(grad, weight.to(grad.dtype), None, stride, padding, extra,
                                    groups, dilation)
        return grad_x, None, None, None, None, None, None


def _pair(v) -> tuple[int, int] | None:
    if isinstance(v, int):
        return (v, v)
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(i, int) for i in v):
        return tuple(v)
    return None


def _arg(args, kwargs, i, name, default):
    return args[i] if len(args) > i else kwargs.get(name, default)


#: operations linear in their tensor input (their backward does not read the forward values)
_LINEAR_OPS = {
    torch.Tensor.view, torch.Tensor.reshape, torch.Tensor.flatten, torch.flatten,
    torch.reshape, torch.Tensor.contiguous, torch.Tensor.__getitem__, torch.Tensor.permute,
    torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.__radd__, torch.add,
    torch.Tensor.sub, torch.Tensor.__sub__, torch.Tensor.__neg__, torch.Tensor.neg,
    torch.Tensor.mean, torch.mean, torch.Tensor.sum, torch.sum, torch.cat,
    F.avg_pool2d, torch.Tensor.size, torch.Tensor.dim, torch.Tensor.squeeze,
    torch.Tensor.unsqueeze, torch.Tensor.unbind, torch.unbind, torch.stack,
    torch.Tensor.transpose, torch.transpose,
}
#: linear when the second operand is a number
_SCALINGS = {torch.Tensor.__mul__, torch.Tensor.__rmul__, torch.Tensor.mul,
             torch.Tensor.__truediv__, torch.Tensor.div}


class _PiecewiseLinearMode(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.unsupported: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (F.relu, torch.relu) and not _arg(args, kwargs, 1, "inplace", False):
            return _SlopeMask.apply(args[0], 0.0)
        if func is F.leaky_relu and not _arg(args, kwargs, 2, "inplace", False):
            return _SlopeMask.apply(args[0], float(_arg(args, kwargs, 1, "negative_slope", 0.01)))
        if func is F.linear:
            return _Linear.apply(args[0], args[1], _arg(args, kwargs, 2, "bias", None))
        if func is torch.baddbmm and len(args) == 3 and not kwargs:
            return _BatchedLinear.apply(*args)
        if func is torch.conv2d:
            geometry = [_pair(_arg(args, kwargs, i, n, d)) for i, n, d in
                        ((3, "stride", 1), (4, "padding", 0), (5, "dilation", 1))]
            groups = _arg(args, kwargs, 6, "groups", 1)
            if all(g is not None for g in geometry) and args[0].dim() == 4:
                return _Conv2d.apply(args[0], args[1], _arg(args, kwargs, 2, "bias", None),
                                     *geometry, groups)
            return func(*args, **kwargs)  # a linear op kept as it is: still exact
        if func in _LINEAR_OPS or getattr(func, "__name__", "") == "__get__":
            return func(*args, **kwargs)
        if func in _SCALINGS and not isinstance(_arg(args, kwargs, 1, "other", None), torch.Tensor):
            return func(*args, **kwargs)  # scaling by a number is linear
        self.unsupported.add(getattr(func, "__qualname__", repr(func)))
        return func(*args, **kwargs)


#: critics found to use an operation outside the piecewise-linear set -> those operations
_FALLBACK: "weakref.WeakKeyDictionary[nn.Module, set[str]]" = weakref.WeakKeyDictionary()


def reference_input_gradient(critic: nn.Module, x: torch.Tensor,
                             create_graph: bool) -> torch.Tensor:
    """grad_x sum_i D(x_i), the textbook way (autograd, double backward when create_graph)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=create_graph)
    return grad


def input_gradient(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """grad_x sum_i D(x_i) with a graph to the critic's weights, for piecewise-linear critics
    without the zero second-derivative work; the textbook computation for any other critic."""
    if critic in _FALLBACK:
        return reference_input_gradient(critic, x, create_graph=True)
    leaf = x.detach().requires_grad_(True)
    mode = _PiecewiseLinearMode()
    with mode:
        scores = critic(leaf)
    if mode.unsupported:
        _FALLBACK[critic] = mode.unsupported
        return reference_input_gradient(critic, x, create_graph=True)
    (grad,) = torch.autograd.grad(scores.sum(), leaf, create_graph=True)
    return grad


def uses_fallback(critic: nn.Module) -> set[str]:
    """The operations that made :func:`input_gradient` fall back for this critic (empty if it
    has not, or has not been called on it yet)."""
    return set(_FALLBACK.get(critic, ()))
