"""Exercise 10: A regularised convnet for CIFAR-10: the declaration its source notebook is generated from (see autograder.exercises)."""
from .. import checks
from . import Code, Exercise, Markdown, Part, Solution

EXERCISE = Exercise('10-keras-cifar10', (
    Markdown('intro', r'''# Exercise 10: A regularised convnet for CIFAR-10

Write `build_model()` returning a `keras.Model` for `(32, 32, 3)` colour images with values in
[0, 1] and 10 class scores (softmax or logits). Requirements:

* **data augmentation inside the model**: at least one `keras.layers.Random...` layer (e.g.
  `RandomFlip("horizontal")`, `RandomTranslation(0.1, 0.1)`), which is active only in training;
* **regularisation**: `Dropout` and/or `BatchNormalization`;
* at least one `Conv2D`; **at most 150,000 parameters**;
* after a short fixed training run by the grader (Adam 0.001, batch 32, 2 epochs on 2,000
  training images) the training loss must fall and the accuracy on 500 test images must
  reach 25 % -- well above the 10 % of guessing.

Before evaluating, the grader sets batch-norm moving statistics from a batch of training images,
so models with `BatchNormalization` are not penalised for the very short run.

**Points**: 6.'''),
    Code('setup', r'''# Setup (read-only). Run this cell first.
import numpy as np
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
from keras import layers'''),
    Solution(name='build_model', code=r'''def build_model():
    """A regularised convnet for CIFAR-10.

    Returns
    -------
    keras.Model with input shape (None, 32, 32, 3) and output shape (None, 10)
    """
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.RandomFlip("horizontal"),
        layers.RandomTranslation(0.1, 0.1),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.3),
        layers.Dense(10),  # logits
    ])
    ### END SOLUTION'''),
    Code('summary', r'''model = build_model()
model.summary()'''),
    Part('test_structure', 2, checks.check_cifar10_model, 'structure', 'build_model',
         r'''assert model.input_shape == (None, 32, 32, 3), f"input shape should be (None, 32, 32, 3), got {model.input_shape}"
assert any(type(l).__name__.startswith("Random") for l in model.layers), "add a data-augmentation layer"
'''),
    Part('test_params', 1, checks.check_cifar10_model, 'params', 'build_model',
         r'''assert model.count_params() <= 150_000, f"{model.count_params():,} parameters; the budget is 150,000"
'''),
    Part('test_training', 3, checks.check_cifar10_model, 'training', 'build_model',
         r'''
# Graded after submission: the grader builds a fresh copy of your model and trains it (Adam, learning rate 0.001,
# batch 32, 2 epochs on 2,000 CIFAR-10 images). The training loss must fall and the accuracy on 500 test images
# must reach 25 %.
'''),
))
