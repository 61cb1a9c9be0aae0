"""Reference implementations for the CNN course (NHWC activations, HWIO kernels, as Keras).

Every exercise function of the course lives here, vectorised and validated; hidden tests compare
students' work against it. Keras-dependent modules (``models``, ``train``, ``costs``) are imported on demand so
that ``import solutions`` stays fast and works without TensorFlow.
"""
from .config import cache_dir, data_dir, quick_mode
from .conv import (
    col2im,
    conv1d,
    conv2d,
    conv2d_backward,
    conv2d_single,
    convolve2d,
    correlate1d,
    correlate2d,
    im2col,
    output_size,
    zero_pad,
)
from .conv_variants import (
    conv2d_transpose,
    conv2d_transpose_backward,
    dense_as_conv_kernel,
    depthwise_conv2d,
    depthwise_conv2d_backward,
    dilate_kernel,
    separable_conv2d,
    separable_conv2d_backward,
)
from .datasets import (
    CIFAR10_CLASSES,
    MNIST_CLASSES,
    DatasetFormatError,
    DatasetUnavailableError,
    load_cifar10,
    load_mnist,
)
from .layers import (
    cross_entropy,
    dropout,
    dropout_backward,
    numerical_gradient,
    relu,
    softmax,
    softmax_cross_entropy,
)
from .normalization import batch_norm_backward, batch_norm_forward
from .params import ConvCost, ConvKind, conv_layer_cost, conv_param_count, dense_param_count, weight_sharing_ratio
from .pooling import (
    avg_pool2d,
    avg_pool2d_backward,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool2d,
    max_pool2d_backward,
)
from .residual import init_residual_block, residual_block_backward, residual_block_forward

__all__ = [name for name in dir() if not name.startswith("_")]
