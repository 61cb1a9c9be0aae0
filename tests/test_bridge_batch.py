"""The bridge's raw array format and its batched calls (one kernel request for a part's cases)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder import bridge
from autograder.bridge import BadReply, BridgeSession, CallTimeout, RemoteFunction
from autograder.kernel import SandboxKernel
from autograder.sandbox import KernelDirs, Limits, probe

DTYPES = st.sampled_from(["<f8", ">f4", "<i8", "|u1", "|b1", "<c16", "<i2"])


@settings(max_examples=50, deadline=None)
@given(st.lists(hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)),
                max_size=4))
def test_pack_unpack_round_trip(arrays):
    named: dict = {}
    for a in arrays:  # as a call's arguments are encoded: 0-d arrays must stay 0-d
        bridge._encode(a, named)
    chunks: list[bytes] = [b"header"]  # offsets count from the start of the joined bytes
    meta = json.loads(json.dumps(bridge._pack(named, chunks)))
    back = bridge._unpack(meta, b"".join(chunks))
    assert set(back) == set(named)
    for key, value in zip(named, arrays):  # keys a0, a1, ... in the order encoded
        assert back[key].dtype == value.dtype and back[key].shape == value.shape
        np.testing.assert_array_equal(back[key], value)
        assert back[key].flags.writeable and back[key].flags.owndata


@pytest.mark.parametrize("meta, why", [
    ({"a0": {"dtype": "|O", "shape": [1], "offset": 0}}, "does not read"),
    ({"a0": {"dtype": "|V8", "shape": [1], "offset": 0}}, "does not read"),
    ({"a0": {"dtype": "<f8", "shape": [-1], "offset": 0}}, "does not read"),
    ({"a0": {"dtype": "<f8", "shape": [2], "offset": 0}}, "cut short"),
    ({"a0": {"dtype": "<f8", "shape": [1], "offset": 4}}, "cut short"),
    ({"a0": {"dtype": "<f8", "shape": [1], "offset": -8}}, "does not read"),
    ({"a0": {"dtype": "not a dtype", "shape": [1], "offset": 0}}, "malformed"),
    ({"a0": {"shape": [1], "offset": 0}}, "malformed"),
    ({"a0": "x"}, "malformed"),
    ({"a0": {"dtype": "<f8", "shape": [1e400], "offset": 0}}, "malformed"),  # JSON's 1e400 is inf
    ({"a0": {"dtype": "<f8", "shape": [0, 10**30], "offset": 0}}, "does not read"),
    (["a0"], "malformed"),
])
def test_unpack_refuses_what_is_not_plain_numbers_in_bounds(meta, why):
    with pytest.raises(BadReply, match=why):
        bridge._unpack(meta, np.zeros(1).tobytes())


@pytest.fixture
def session(tmp_path):
    if probe():
        pytest.skip(f"no sandbox here: {probe()}")
    dirs = KernelDirs.create(tmp_path)
    kernel = SandboxKernel(dirs, Limits(max_processes=0))
    assert kernel.start() == ""
    s = BridgeSession(kernel, dirs, call_timeout=2, reply_bytes=1 << 20)
    assert s.install() == ""
    code = ("import time\ncalls = []\n"
            "def scale(x, k):\n    calls.append(k)\n    x *= 2\n    return x.sum() * k\n"
            "def slow(t):\n    time.sleep(t)\n    return t\n")
    assert kernel.run(code, timeout=30).status.value == "ok"
    yield s
    kernel.stop()


def test_prefetched_calls_match_single_calls_in_one_request(session):
    scale = RemoteFunction(session, "scale")
    cases = [((np.arange(3.0), k), {}) for k in (1, 2, 3)]
    single = [scale(np.arange(3.0), k) for k in (1, 2, 3)]
    requests = session.calls
    scale.prefetch(cases)
    assert session.calls == requests + 1  # three calls, one kernel request
    x = np.arange(3.0)
    assert scale(x, 2) == single[1] == 12.0  # (0 + 2 + 4) * 2
    np.testing.assert_array_equal(x, [0.0, 2.0, 4.0])  # the in-place change comes back
    assert scale(np.arange(3.0), 1) == single[0] and scale(np.arange(3.0), 3) == single[2]
    assert session.calls == requests + 1
    assert scale(np.arange(3.0), 2) == 12.0  # each prefetched reply serves one call: this one is new
    assert session.calls == requests + 2
    scale.prefetch([])
    assert scale(np.arange(3.0), 3) == 18.0 and session.calls == requests + 3


def test_batch_time_limit_is_per_call(session):
    slow = RemoteFunction(session, "slow")
    slow.prefetch([((0.8,), {})] * 4)  # 3.2 s in all, each call well within its 2 s
    assert [slow(0.8) for _ in range(4)] == [0.8] * 4
    with pytest.raises(CallTimeout, match="did not return within 2 s"):
        slow.prefetch([((0.1,), {}), ((30,), {})])
