"""The grader's side of the bridge: student functions as proxies that exchange plain data.

A check calls ``RemoteFunction("conv2d")(x, w, b)`` exactly as it would call a local function.
The call is encoded as JSON plus one file of raw array bytes that the JSON describes (dtype,
shape, offset: arrays only, no pickle), written to the kernel's read-only inbox, executed in the
kernel by :mod:`autograder.kernel_bridge`, and the reply is read back with a size cap, without
following links, and decoded into fresh arrays of plain numeric dtypes. Inputs that the student's
function changed in place are copied back into the caller's objects, so checks can see in-place
mutation as they would locally. A Keras model comes back as a ``.keras`` file and is loaded with
``safe_mode=True`` (no Lambda layers, no custom objects: those are refused, never run).

A check that knows its calls in advance (every case of a part) sends them in one request with
:meth:`RemoteFunction.prefetch`: one kernel round trip instead of one per call. Each call then
takes the reply computed for exactly its inputs; the time limit still applies to each call.
"""
from __future__ import annotations

import builtins
import dataclasses
import hashlib
import io
import json
import math
import os
import stat
import tempfile
import zipfile
from collections import deque
from pathlib import Path

import numpy as np

from .kernel import RunStatus, SandboxKernel
from .sandbox import KernelDirs

BRIDGE_SOURCE = (Path(__file__).with_name("kernel_bridge.py")).read_text()
MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 1000
MAX_ARRAYS = 1000  # arrays in one reply


class BridgeFailure(Exception):
    """The call did not come back: it timed out or the kernel died. Never the check's verdict alone."""


class CallTimeout(BridgeFailure):
    pass


class KernelLost(BridgeFailure):
    pass


class BadReply(Exception):
    """The student's function returned something the grader will not read (too large, not data)."""


class StudentException(Exception):
    """An exception the student's code raised whose type is not a builtin one (its name is kept)."""

    def __init__(self, type_name: str, message: str):
        super().__init__(message)
        self.type_name = type_name

    def __str__(self):
        return f"{self.type_name}: {self.args[0]}" if self.args[0] else self.type_name


def student_exception(type_name: str, message: str) -> Exception:
    """The exception the student's function raised, as a local object (builtin types keep theirs)."""
    cls = getattr(builtins, type_name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
        try:
            return cls(message)
        except Exception:  # an exception type whose constructor needs other arguments
            pass
    return StudentException(type_name, message)


# -- encoding (grader -> kernel) -------------------------------------------------------------------
def _encode(value, arrays: dict):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else {"float": repr(value)}
    if isinstance(value, np.generic):
        return _encode(value.item(), arrays)
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value, order="C")  # ascontiguousarray would make 0-d arrays 1-d
        return {"array": key}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return {"list": [_encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"dict": {str(k): _encode(v, arrays) for k, v in value.items()}}
    if isinstance(value, np.random.Generator):
        return {"rng": value.bit_generator.state}
    spec = getattr(value, "bridge_spec", None)
    if spec is not None:  # a test function the checks define on both sides (kernel_bridge.py)
        name, params = spec
        return {"fn": name, "params": {k: _encode(v, arrays) for k, v in params.items()}}
    raise TypeError(f"cannot send a {type(value).__name__} to the student's kernel")


# -- decoding (kernel -> grader) -------------------------------------------------------------------
class Unreadable:
    """Stands for a returned object that is not plain data; checks report its type."""

    def __init__(self, what: str):
        self.what = what

    def __repr__(self):
        return f"<{self.what}>"


def _read_capped(path: Path, limit: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise BadReply("the kernel wrote no reply") from None
    except OSError as exc:
        raise BadReply(f"the reply could not be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadReply("the reply is not a regular file")
        if info.st_size > limit:
            raise BadReply(f"the result is too large ({info.st_size:,} bytes; at most {limit:,} are read)")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:
                raise BadReply(f"the result is too large (more than {limit:,} bytes)")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _check_archive(data: bytes, limit: int) -> None:
    """Refuse archives that would expand past ``limit`` (zip bombs) or hold too many members."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
    except zipfile.BadZipFile:
        raise BadReply("the reply is not a valid archive") from None
    if len(members) > MAX_ARCHIVE_MEMBERS or sum(m.file_size for m in members) > limit:
        raise BadReply("the result expands to more data than the grader reads")


def _pack(arrays: dict[str, np.ndarray], chunks: list[bytes]) -> dict:
    """Describe ``arrays`` (dtype, shape, offset into the joined ``chunks``) and add their bytes."""
    offset = sum(len(c) for c in chunks)
    meta = {}
    for key, value in arrays.items():
        meta[key] = {"dtype": value.dtype.str, "shape": list(value.shape), "offset": offset}
        chunks.append(value.tobytes())
        offset += value.nbytes
    return meta


def _unpack(meta, data: bytes) -> dict[str, np.ndarray]:
    """Fresh arrays from a reply's description of ``data``: plain numeric dtypes only, in bounds."""
    if not isinstance(meta, dict) or len(meta) > MAX_ARRAYS:
        raise BadReply("the reply is malformed")
    arrays = {}
    for key, m in meta.items():
        try:
            dtype = np.dtype(str(m["dtype"])[:8])
            shape = tuple(int(d) for d in m["shape"][:33])
            offset = int(m["offset"])
        except (TypeError, ValueError, OverflowError, KeyError, IndexError):  # 1e400 in JSON is inf
            raise BadReply("the reply is malformed") from None
        if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None \
                or len(shape) > 32 or any(d < 0 for d in shape) or offset < 0:
            raise BadReply(f"the reply holds an array the grader does not read ({dtype}, {shape})")
        count = math.prod(shape)
        if offset + count * dtype.itemsize > len(data):
            raise BadReply("the reply's arrays are cut short")
        try:
            arrays[str(key)] = np.frombuffer(data, dtype, count, offset).reshape(shape).copy()
        except ValueError:  # a shape numpy cannot hold (a zero beside dimensions past its limit)
            raise BadReply(f"the reply holds an array the grader does not read ({dtype}, {shape})") from None
    return arrays


def _load_keras_model(data: bytes, limit: int):
    _check_archive(data, limit)
    import keras

    with tempfile.TemporaryDirectory() as tmp:  # a private copy: the kernel cannot swap it mid-load
        path = Path(tmp) / "model.keras"
        path.write_bytes(data)
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:
            raise BadReply("the model could not be loaded safely: only Keras' built-in layers are "
                           f"accepted (no Lambda layers or custom objects) ({type(exc).__name__}: "
                           f"{str(exc)[:300]})") from None


class _Decoder:
    def __init__(self, arrays: dict, outbox: Path, limit: int):
        self.arrays, self.outbox, self.limit = arrays, outbox, limit

    def __call__(self, node, depth: int = 0):
        if depth > 20:
            raise BadReply("the result is nested too deeply")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, dict) and len(node) == 1:
            (kind, inner), = node.items()
            if kind == "array" and inner in self.arrays:
                return self.arrays[inner]
            if kind == "tuple" and isinstance(inner, list):
                return tuple(self(v, depth + 1) for v in inner)
            if kind == "list" and isinstance(inner, list):
                return [self(v, depth + 1) for v in inner]
            if kind == "dict" and isinstance(inner, dict):
                return {str(k): self(v, depth + 1) for k, v in inner.items()}
            if kind == "float" and inner in ("nan", "inf", "-inf"):
                return float(inner)
            if kind == "rng" and isinstance(inner, dict):
                return ("rng", inner)
            if kind == "keras_model" and isinstance(inner, str) and "/" not in inner:
                return _load_keras_model(_read_capped(self.outbox / inner, self.limit), self.limit)
            if kind == "unsupported":
                return Unreadable(str(inner)[:100])
        raise BadReply("the reply is malformed")


def _write_back(original, returned) -> None:
    """Make in-place changes the student's function made to an input visible in ``original``."""
    if isinstance(original, np.ndarray) and isinstance(returned, np.ndarray):
        if original.shape == returned.shape and original.flags.writeable:
            np.copyto(original, returned, casting="unsafe")
    elif isinstance(original, dict) and isinstance(returned, dict):
        for key in list(original):
            if key not in returned:
                del original[key]
        for key, value in returned.items():
            if isinstance(original.get(key), np.ndarray) and isinstance(value, np.ndarray) \
                    and original[key].shape == value.shape:
                np.copyto(original[key], value, casting="unsafe")
            else:
                original[key] = value
    elif isinstance(original, np.random.Generator) and isinstance(returned, tuple) and returned[:1] == ("rng",):
        try:
            original.bit_generator.state = returned[1]
        except (TypeError, ValueError, KeyError):
            pass  # a state the student's code mangled: the generator simply does not advance


def _request(name: str, args: tuple, kwargs: dict) -> tuple[dict, dict[str, np.ndarray]]:
    arrays: dict = {}
    request = {"name": name, "args": [_encode(a, arrays) for a in args],
               "kwargs": {k: _encode(v, arrays) for k, v in kwargs.items()}}
    return request, arrays


def _fingerprint(request: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """Identifies a call by exactly what it sends: equal inputs, equal fingerprints."""
    h = hashlib.sha256(json.dumps(request, sort_keys=True).encode())
    for key, value in arrays.items():
        h.update(f"{key}{value.dtype.str}{value.shape}".encode())
        h.update(value.tobytes())
    return h.digest()


def write_batch(inbox: Path, n: int, encoded: list[tuple[dict, dict]]) -> None:
    """Request ``n`` in ``inbox``: the calls' JSON (``n.json``) and their arrays' bytes (``n.bin``)."""
    chunks: list[bytes] = []
    batch = {"calls": [{**request, "arrays": _pack(arrays, chunks)} for request, arrays in encoded]}
    (inbox / f"{n}.bin").write_bytes(b"".join(chunks))
    (inbox / f"{n}.json").write_text(json.dumps(batch))


@dataclasses.dataclass
class _Reply:
    """One call's decoded reply: what it returned and its inputs after the call, or what it raised."""

    value: object = None
    args: list = dataclasses.field(default_factory=list)
    kwargs: dict = dataclasses.field(default_factory=dict)
    error: Exception | None = None  # the student's exception, or BadReply

    def apply(self, args: tuple, kwargs: dict):
        """The call's outcome for the caller: in-place changes copied into ``args``; value or raise."""
        if self.error is not None:
            raise self.error
        for original, returned in zip(args, self.args):
            _write_back(original, returned)
        for key, returned in self.kwargs.items():
            if key in kwargs:
                _write_back(kwargs[key], returned)
        return self.value


class BridgeSession:
    """Calls into one running kernel; every kernel request is a fresh batch of one or more calls."""

    def __init__(self, kernel: SandboxKernel, dirs: KernelDirs, call_timeout: float, reply_bytes: int):
        self.kernel, self.dirs = kernel, dirs
        self.call_timeout, self.reply_bytes = call_timeout, reply_bytes
        self.calls = 0
        self._ready: dict[bytes, deque[_Reply]] = {}  # prefetched replies by call fingerprint

    def install(self) -> str:
        """Define the bridge in the kernel's namespace; return '' or why it failed."""
        code = (f"{BRIDGE_SOURCE}\n_cnn_bridge_serve = _cnn_bridge_install({str(self.dirs.inbox)!r}, "
                f"{str(self.dirs.outbox)!r}, globals())\ndel _cnn_bridge_install\n")
        run = self.kernel.run(code, timeout=30, silent=True)
        return "" if run.status is RunStatus.OK else f"the bridge could not be set up ({run.status.value})"

    def call(self, name: str, args: tuple, kwargs: dict):
        request, arrays = _request(name, args, kwargs)
        waiting = self._ready.get(_fingerprint(request, arrays))
        reply = waiting.popleft() if waiting else self._run(name, [(request, arrays)])[0]
        return reply.apply(args, kwargs)

    def prefetch(self, name: str, calls: list[tuple[tuple, dict]]) -> None:
        """Run ``calls`` of ``name`` (args, kwargs) in one kernel request; keep their replies for the
        calls with exactly these inputs. Replies kept before are dropped (``calls=[]`` only drops)."""
        self._ready = {}
        if not calls:
            return
        encoded = [_request(name, args, kwargs) for args, kwargs in calls]
        for (request, arrays), reply in zip(encoded, self._run(name, encoded)):
            self._ready.setdefault(_fingerprint(request, arrays), deque()).append(reply)

    def _run(self, name: str, encoded: list[tuple[dict, dict]]) -> list[_Reply]:
        """Send a batch, wait for it (``call_timeout`` for each call), read one reply per call."""
        self.calls += 1
        n = self.calls
        write_batch(self.dirs.inbox, n, encoded)

        def replied() -> int:  # each call that came back gives the next its own time limit
            return sum((self.dirs.outbox / f"{n}-{i}.json").exists() for i in range(len(encoded)))
        try:
            run = self.kernel.run(f"_cnn_bridge_serve({n})", timeout=self.call_timeout, silent=True,
                                  progress=replied)
            if run.status is RunStatus.TIMEOUT:
                raise CallTimeout(f"{name}(...) did not return within {self.call_timeout:g} s "
                                  "(an infinite loop, or far too slow?)")
            if run.status is RunStatus.DEAD:
                raise KernelLost(f"the kernel died while running {name}(...) (a crash, os._exit, or a "
                                 "memory or CPU limit)")
            return [self._read_reply(f"{n}-{i}") for i in range(len(encoded))]
        finally:
            for box in (self.dirs.inbox, self.dirs.outbox):
                for leftover in box.glob(f"{n}[.-]*"):
                    leftover.unlink(missing_ok=True)

    def _read_reply(self, stem: str) -> _Reply:
        try:
            reply = json.loads(_read_capped(self.dirs.outbox / f"{stem}.json", MAX_JSON_BYTES))
            if not isinstance(reply, dict):
                raise BadReply("the reply is malformed")
            if "error" in reply:
                err = reply["error"] if isinstance(reply["error"], dict) else {}
                return _Reply(error=student_exception(str(err.get("type", "Exception"))[:100],
                                                      str(err.get("message", ""))[:4000]))
            arrays = _unpack(reply.get("arrays", {}),
                             _read_capped(self.dirs.outbox / f"{stem}.bin", self.reply_bytes))
            decode = _Decoder(arrays, self.dirs.outbox, self.reply_bytes)
            args, kwargs = reply.get("args", []), reply.get("kwargs") or {}
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise BadReply("the reply is malformed")
            return _Reply(decode(reply.get("value")), [decode(a) for a in args],
                          {str(k): decode(v) for k, v in kwargs.items()})
        except (ValueError, UnicodeDecodeError):
            return _Reply(error=BadReply("the reply is malformed"))
        except BadReply as exc:
            return _Reply(error=exc)


class RemoteFunction:
    """A student's function, called through the bridge. ``__name__`` is the notebook's name."""

    def __init__(self, session: BridgeSession, name: str):
        self._session, self.__name__ = session, name

    def __call__(self, *args, **kwargs):
        return self._session.call(self.__name__, args, kwargs)

    def prefetch(self, calls: list[tuple[tuple, dict]]) -> None:
        """Compute these calls (args, kwargs) in one kernel request ahead of the calls themselves."""
        self._session.prefetch(self.__name__, calls)

    def __repr__(self):
        return f"<student function {self.__name__}>"
