"""Time conv2d forward + backward: vectorised NumPy vs TensorFlow (CPU) vs plain loops.

Run ``python -m solutions.benchmark`` (``--help`` for options).  It first names the BLAS library
NumPy calls, its version, the CPU kernel it picked and its threads (from ``threadpoolctl``), and
TensorFlow's oneDNN setting.  For each workload it prints the median wall-clock time over several
repeats of one forward and one backward pass (gradients for input, weights and bias), with the
ratios the course quotes: NumPy / TensorFlow and loops / NumPy, and the one-minute load average
when the workload finished.  NumPy and TensorFlow runs are interleaved, so that both see the same
machine load; the ratio of each interleaved pair is also reported (median, lowest and highest).  The loop version
is slow, so by default it is timed on a few images and scaled linearly to the full batch (every image
costs the same); ``--full-loops`` times it on the whole batch instead.

All arrays are float32, TensorFlow's default.  On a machine shared with other work, ``--threads 1``
gives steadier (single-core) figures.  TensorFlow is imported here only, never by ``import solutions``.
"""
from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time

import numpy as np
import threadpoolctl

from .config import cpu_model
from .conv import conv2d, conv2d_backward
from .loops import conv2d_backward_loops, conv2d_loops

# (name, batch shape NHWC, filters); 3x3 kernels, stride 1, "same" padding, as in the book's models
WORKLOADS = [
    ("MNIST-sized", (128, 28, 28, 1), 32),
    ("CIFAR-sized", (64, 32, 32, 32), 64),
]


def library_report() -> list[str]:
    """One line per thread pool NumPy (and anything loaded with it) uses: library, version, kernel, threads."""
    lines = []
    for pool in threadpoolctl.threadpool_info():
        kernel = pool.get("architecture") or "kernel not reported"
        lines.append(f"{pool['user_api']}: {pool['internal_api']} {pool.get('version') or ''} "
                     f"({pool['prefix']}), kernel {kernel}, {pool['num_threads']} threads")
    return lines or ["no BLAS or OpenMP thread pool found"]


def _cpu_vector_extensions() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return "unknown"
    return ", ".join(f for f in ("avx512f", "avx2", "fma") if f in flags) or "none of avx512f, avx2, fma"


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _make_arrays(shape, filters, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((3, 3, shape[3], filters), dtype=np.float32) * np.float32(0.1)
    b = rng.standard_normal(filters, dtype=np.float32)
    dout = rng.standard_normal((*shape[:3], filters), dtype=np.float32)
    return x, w, b, dout


def _numpy_step(x, w, b, dout):
    out = conv2d(x, w, b, padding="same")
    return out, conv2d_backward(dout, x, w, padding="same")


def _loops_step(x, w, b, dout):
    conv2d_loops(x, w, b, padding="same")
    conv2d_backward_loops(dout, x, w, padding="same")


def _tf_step_factory(tf, x, w, b, dout):
    xt, wt, bt, dt = (tf.constant(a) for a in (x, w, b, dout))

    def step():
        with tf.GradientTape() as tape:
            tape.watch([xt, wt, bt])
            out = tf.nn.conv2d(xt, wt, 1, "SAME") + bt
        grads = tape.gradient(out, [xt, wt, bt], output_gradients=dt)
        # .numpy() forces the work to finish, and hands back NumPy arrays as our version does
        return out.numpy(), [g.numpy() for g in grads]

    return step


def run(repeats=7, loop_images=2, full_loops=False):
    """Run every workload; return a list of result dicts (times in seconds)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    results = []
    for name, shape, filters in WORKLOADS:
        x, w, b, dout = _make_arrays(shape, filters)
        tf_step = _tf_step_factory(tf, x, w, b, dout)
        # Correctness first: the two implementations must agree before their times mean anything.
        (out_np, grads_np), (out_tf, grads_tf) = _numpy_step(x, w, b, dout), tf_step()
        max_diff = max(
            float(np.max(np.abs(a - c)) / (np.max(np.abs(c)) + 1e-30))
            for a, c in zip([out_np, *grads_np], [out_tf, *grads_tf])
        )
        np_times, tf_times = [], []
        for _ in range(repeats):
            np_times.append(_timed(lambda: _numpy_step(x, w, b, dout)))
            tf_times.append(_timed(tf_step))
        pair_ratios = [a / c for a, c in zip(np_times, tf_times)]
        n_loop = shape[0] if full_loops else min(loop_images, shape[0])
        loop_time = _timed(lambda: _loops_step(x[:n_loop], w, b, dout[:n_loop])) * shape[0] / n_loop
        results.append(
            dict(
                name=name, shape=shape, filters=filters, numpy=statistics.median(np_times),
                tf=statistics.median(tf_times), loops=loop_time, loop_images=n_loop, max_rel_diff=max_diff,
                pair_ratio=statistics.median(pair_ratios), pair_ratio_range=(min(pair_ratios), max(pair_ratios)),
                load=os.getloadavg()[0],
            )
        )
    return results


def format_table(results, repeats):
    lines = [
        f"{'workload':<12} {'input (NHWC) -> filters':<26} {'NumPy ms':>9} {'TF ms':>9} {'loops ms':>10}"
        f" {'NumPy/TF':>9} {'pairs: median (range)':>22} {'loops/NumPy':>12} {'max rel diff':>13} {'load':>5}",
    ]
    for r in results:
        loops = f"{r['loops'] * 1e3:.0f}" + ("" if r["loop_images"] == r["shape"][0] else "*")
        workload = "x".join(map(str, r["shape"])) + f" -> {r['filters']} 3x3"
        low, high = r["pair_ratio_range"]
        pairs = f"{r['pair_ratio']:.2f} ({low:.2f}-{high:.2f})"
        lines.append(
            f"{r['name']:<12} {workload:<26}"
            f" {r['numpy'] * 1e3:>9.1f} {r['tf'] * 1e3:>9.1f} {loops:>10} {r['numpy'] / r['tf']:>9.2f}"
            f" {pairs:>22} {r['loops'] / r['numpy']:>12.0f} {r['max_rel_diff']:>13.1e} {r['load']:>5.1f}"
        )
    scaled = [r for r in results if r["loop_images"] != r["shape"][0]]
    if scaled:
        lines.append(
            f"* loops timed once on the first {scaled[0]['loop_images']} image(s) of the batch and scaled "
            "linearly to the full batch (use --full-loops to time the whole batch)."
        )
    lines.append(
        f"NumPy and TF: median of {repeats} interleaved repeats of forward + backward (dx, dw, db), "
        "float32, stride 1, 'same' padding; pairs: NumPy/TF of each interleaved repeat; "
        "load: one-minute load average when the workload finished."
    )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per implementation (median reported)")
    parser.add_argument("--loop-images", type=int, default=2, help="images the loop version is timed on")
    parser.add_argument("--full-loops", action="store_true", help="time the loop version on the whole batch (slow)")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="limit NumPy's BLAS and TensorFlow to this many threads (default: their own defaults)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.loop_images < 1 or (args.threads is not None and args.threads < 1):
        parser.error("--repeats, --loop-images and --threads must be >= 1")
    if args.threads is not None and os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):
        # NumPy's BLAS reads its thread count when it is loaded, which has already happened; restart
        # this same command with the variables set.
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
        os.execve(sys.executable, [sys.executable, "-m", "solutions.benchmark", *(argv or sys.argv[1:])], env)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf  # imported here for its version string; run() uses it too

    print(f"date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"cpu: {cpu_model()} ({os.cpu_count()} logical CPUs); load average {os.getloadavg()[0]:.1f}")
    print(f"numpy {np.__version__}, tensorflow {tf.__version__} (CPU); CPU vector extensions: "
          f"{_cpu_vector_extensions()}")
    for line in library_report():
        print(f"NumPy {line}")
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    print("TensorFlow oneDNN kernels: " + ("TensorFlow's default for this CPU" if onednn is None
                                           else f"TF_ENABLE_ONEDNN_OPTS={onednn}"))
    if args.threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    threads = "library defaults" if args.threads is None else f"{args.threads} (BLAS and TensorFlow)"
    print(f"threads: {threads}")
    print(format_table(run(args.repeats, args.loop_images, args.full_loops), args.repeats))


if __name__ == "__main__":
    main()
