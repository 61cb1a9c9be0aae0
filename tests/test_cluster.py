"""Grading on a real Dask cluster (a scheduler and two workers on localhost) against the local pool.

The same class is graded by the local pool and by ``grade --scheduler``; while the cluster grades,
the worker running the sleeping submission is SIGKILLed (no nanny: the worker is gone for good), so
its submissions must be rescheduled on the other worker and still graded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from corpus import ASSIGNMENT, GOOD_MEAN, SOURCE, dumps, source_nb, with_code  # noqa: E402

from autograder.cli import main  # noqa: E402
from autograder.sandbox import pids_hierarchy, probe  # noqa: E402

distributed = pytest.importorskip("distributed")
pytestmark = [pytest.mark.skipif(bool(probe()), reason=f"no kernel sandbox here: {probe()}"), pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).parent / "dask"
SLEEPER = "asleep"  # sorted first: its task is among the first to start


def _class() -> dict[str, str]:
    return {
        SLEEPER: dumps(with_code(add="import time\ntime.sleep(15)\ndef add(a, b):\n    return a + b")),
        "solution": dumps(source_nb()),
        "offbyone": dumps(with_code(add="def add(a, b):\n    return a + b if a > 0 else a + b + 1")),
        "osexit": dumps(with_code(mean="import os\nos._exit(1)\n" + GOOD_MEAN)),  # kills its kernel
        "badjson": '{"cells": [',
    }


def _workspace(tmp: Path) -> list[str]:
    course = tmp / "course"
    common = ["--course", str(course), "--source", str(SOURCE), "--release", str(tmp / "release")]
    assert main([*common, "release"]) == 0
    lms = tmp / "lms.zip"
    with zipfile.ZipFile(lms, "w") as zf:
        for student, text in _class().items():
            zf.writestr(f"{student}_1.ipynb", text)
    assert main([*common, "collect", ASSIGNMENT, str(lms)]) == 0
    return common


def _grades(common: list[str]) -> dict:
    report = json.loads((Path(common[1]) / "reports" / f"{ASSIGNMENT}.json").read_text())
    return {s: (r["score"], r["status"], {c: v["verdict"] for c, v in r["cells"].items()})
            for s, r in report.items()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster():
    """(address, client, {pid: worker process}) of a scheduler with two one-thread workers."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                 "--no-dashboard"], cwd=REPO, env=env)]
    workers = {}
    try:
        for i in range(2):
            w = subprocess.Popen([DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-nanny",
                                  "--no-dashboard", "--name", f"w{i}"], cwd=REPO, env=env)
            started.append(w)
            workers[w.pid] = w
        client = distributed.Client(address, timeout="60s")
        client.wait_for_workers(2, timeout=120)
        yield address, client, workers
        client.close()
    finally:
        for p in reversed(started):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def _executing(dask_worker) -> list[str]:
    return [str(ts.key) for ts in dask_worker.state.executing]


# `client.run(_executing)` sends the function itself: the workers cannot import this test module.
__import__("cloudpickle").register_pickle_by_value(sys.modules[__name__])


def _kill_worker_running(client, workers: dict, student: str, timeout: float = 120) -> int:
    """SIGKILL the worker process whose running task grades ``student``; its pid."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for address, keys in client.run(_executing).items():
            if any(f"-{student}-" in k for k in keys):
                pid = client.run(os.getpid, workers=[address])[address]
                assert pid in workers, "a worker this test did not start"
                os.kill(pid, signal.SIGKILL)
                workers[pid].wait()
                return pid
        time.sleep(0.2)
    raise AssertionError(f"no worker ever ran {student}")


def test_cluster_grades_equal_the_local_pool_and_survive_a_lost_worker(tmp_path, cluster):
    address, client, workers = cluster
    local = _workspace(tmp_path / "local")
    assert main([*local, "grade", ASSIGNMENT, "--jobs", "2"]) == 0
    expected = _grades(local)
    # an independent oracle for the local run itself: what each submission earns
    assert {s: g[:2] for s, g in expected.items()} == {
        SLEEPER: (5.0, "graded"), "solution": (5.0, "graded"), "offbyone": (3.0, "graded"),
        "osexit": (2.0, "graded"), "badjson": (0.0, "invalid")}

    remote = _workspace(tmp_path / "remote")
    done = {}
    grading = threading.Thread(target=lambda: done.update(rc=main(
        ["grade", ASSIGNMENT, *remote, "--scheduler", address])))
    grading.start()
    try:
        killed = _kill_worker_running(client, workers, SLEEPER)
    finally:
        grading.join(timeout=600)
    assert done == {"rc": 0}
    assert workers[killed].returncode == -signal.SIGKILL
    assert len(client.scheduler_info()["workers"]) == 1  # the other worker graded everything
    assert _grades(remote) == expected
    autograded = Path(remote[1]) / "autograded" / "solution" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert "[autograder]" in autograded.read_text()
    # the killed worker's task directory and pids cgroup were removed by the worker that took over
    leftovers = list(Path(tempfile.gettempdir()).glob(f"autograder-{killed}.*"))
    if pids_hierarchy():
        leftovers += pids_hierarchy().glob(f"autograder-{killed}.*")
    assert leftovers == []


def test_cluster_without_workers_is_refused_with_the_reason(tmp_path, capsys):
    port = _free_port()
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 cwd=REPO)
    try:
        common = _workspace(tmp_path)
        assert main(["grade", ASSIGNMENT, *common, "--scheduler", f"tcp://127.0.0.1:{port}"]) == 2
        assert "has no workers" in capsys.readouterr().err
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=20)
