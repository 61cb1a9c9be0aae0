"""TensorFlow, imported with the course's settings; ``solutions.models`` and ``train`` load it through here.

TensorFlow enables its oneDNN kernels by default only on CPUs with AVX-512-class features; on the
course's AVX2 machines they made a training step of chapter 10's network 1.6x faster (0.29 s against
0.46 s, batch 128). With them on, importing TensorFlow writes an info line straight to file
descriptor 2 that ``TF_CPP_MIN_LOG_LEVEL`` does not silence, and stderr in a notebook cell fails the
``-W`` book build (and a test cell in nbgrader), so the import, and the first look for devices (where
a machine without a GPU logs a failed CUDA start-up), run with that descriptor muted.
Both settings only take effect if TensorFlow is not loaded yet.
"""
import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if "tensorflow" not in sys.modules:
    _saved, _null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(_null, 2)
    try:
        import tensorflow

        # The `tensorflow` wheel (the one every platform has) looks for CUDA when it first sees the
        # devices and logs a failed cuInit on machines without a GPU: let it look while muted.
        tensorflow.config.list_physical_devices()
    finally:
        os.dup2(_saved, 2)
        os.close(_saved)
        os.close(_null)
