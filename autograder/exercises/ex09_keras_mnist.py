"""Exercise 9: A Keras convnet for MNIST, on a parameter budget: the declaration its source notebook is generated from (see autograder.exercises)."""
import solutions

from .. import checks
from . import Code, Exercise, Markdown, Part, Solution

EXERCISE = Exercise('09-keras-mnist', (
    Markdown('intro', r'''# Exercise 9: A Keras convnet for MNIST, on a parameter budget

Write `build_model()` returning a `keras.Model` that maps a `(28, 28, 1)` image with pixel
values in [0, 1] to 10 class scores (a softmax output, or raw logits). Requirements:

* at least one `Conv2D` layer and some spatial down-sampling (`MaxPooling2D` or a strided
  convolution);
* **at most 20,000 parameters** (`model.count_params()`);
* after a fixed short training run made by the grader -- Adam (learning rate 0.001), batch 32,
  2 epochs on a fixed subset of 2,000 training images (6,000 when `CNN_COURSE_QUICK` is not
  set) -- at least 85 % accuracy on 500 test images (92 % on 1,000 in full mode).

The grader builds and compiles its own copy, so only the architecture matters. Don't use the
course's reference models (`solutions`); that scores 0.

**Points**: 6.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
from keras import layers'''),
    Solution(name='build_model', code=r'''def build_model():
    """A small convnet for MNIST.

    Returns
    -------
    keras.Model with input shape (None, 28, 28, 1) and output shape (None, 10)
    """
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu"),   # 160 parameters
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"),   # 4,640
        layers.MaxPooling2D(),                     # 5 x 5 x 32 = 800 features
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),    # 8,010
    ])
    ### END SOLUTION'''),
    Code('summary', r'''model = build_model()
model.summary()'''),
    Part('test_structure', 2, checks.check_mnist_model, 'structure', 'build_model',
         r'''assert model.input_shape == (None, 28, 28, 1), f"input shape should be (None, 28, 28, 1), got {model.input_shape}"
assert model.output_shape == (None, 10), f"output shape should be (None, 10), got {model.output_shape}"
'''),
    Part('test_params', 2, checks.check_mnist_model, 'params', 'build_model',
         r'''assert model.count_params() <= 20_000, f"{model.count_params():,} parameters; the budget is 20,000"
'''),
    Markdown('train_md', r'''The graded cell below runs the grader's own fixed training (a few seconds to half a minute).
To experiment yourself, add a cell and use `solutions.load_mnist(n_train=2000, n_test=500, seed=0)`.'''),
    Part('test_accuracy', 2, checks.check_mnist_model, 'accuracy', 'build_model',
         r'''
# Graded after submission: the grader builds a fresh copy of your model and trains it (Adam, learning rate 0.001,
# batch 32, 2 epochs on 2,000 MNIST images; 6,000 in full mode). It needs at least 85 % accuracy on 500 test
# images (92 % on 1,000 in full mode).
'''),
))
