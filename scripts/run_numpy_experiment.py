"""Run chapter 8's NumPy experiment and record it: ``python scripts/run_numpy_experiment.py``.

Writes book/results/numpy_experiment.json (the figures the book cites). ``--quick`` runs the short
version CI uses and prints it without writing unless ``--out`` is given.
"""
import os
import sys
from pathlib import Path

# One BLAS thread: the matrices are small, and on a busy machine OpenBLAS's spinning worker threads
# made each training step up to 100 times slower. Must be set before NumPy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from solutions.numpy_net import RESULTS_FILE, main  # noqa: E402

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--quick" not in args and "--out" not in args:
        args += ["--out", str(RESULTS_FILE)]
    main(args)
