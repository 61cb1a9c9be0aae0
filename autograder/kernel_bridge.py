"""The student's side of the bridge: runs inside the sandboxed kernel, never in the grader.

The grader sends this file's source to the kernel once the notebook has run, then, for a batch of
calls a check makes (one call, or every case of a part), writes a request into the read-only inbox
and runs ``_cnn_bridge_serve(n)``. This code calls the named function of the notebook on each
call's decoded inputs, in order, and writes one reply per call to the outbox: the result, the
inputs as they are after the call (so in-place changes show) and any exception, as JSON plus one
file of raw array bytes that the JSON describes (dtype, shape, offset; no pickle either way).

Nothing here is trusted: a notebook that replaces it changes only what its own functions seem
to return, which is all a submission may decide anyway. NumPy and the standard library only.
"""


def _cnn_bridge_install(inbox, outbox, namespace):
    import json
    import os
    import traceback

    import numpy as np

    def test_function(spec, args):
        """Callables the checks hand to a student function (their code lives on both sides)."""
        name, p = spec["fn"], spec["params"]
        if name == "cubic_sin":
            a = p["a"]
            return lambda x: float(np.sum(a * np.asarray(x) ** 3 + np.sin(x)))
        if name == "weighted_square_of_arg":
            # reads the argument array itself, so a perturbation made in place is what it sees
            w, index = p["w"], p["arg"]
            return lambda _ignored: float(np.sum(w * args[index] ** 2))
        raise ValueError(f"unknown test function {name!r}")

    def decode(node, arrays, args, deferred):
        if isinstance(node, dict):
            if "array" in node:
                return np.array(arrays[node["array"]])
            if "tuple" in node:
                return tuple(decode(v, arrays, args, deferred) for v in node["tuple"])
            if "list" in node:
                return [decode(v, arrays, args, deferred) for v in node["list"]]
            if "dict" in node:
                return {k: decode(v, arrays, args, deferred) for k, v in node["dict"].items()}
            if "rng" in node:
                rng = np.random.Generator(np.random.PCG64())
                rng.bit_generator.state = node["rng"]
                return rng
            if "fn" in node:
                holder = []
                params = {k: decode(v, arrays, args, deferred) for k, v in node["params"].items()}
                deferred.append((holder, {"fn": node["fn"], "params": params}))
                return holder  # replaced once every plain argument exists
            if "float" in node:
                return float(node["float"])
        return node

    def encode(value, arrays, stem, depth=0):
        if depth > 20:
            return {"unsupported": "nesting too deep"}
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if np.isfinite(value) else {"float": repr(value)}
        if isinstance(value, np.generic):
            value = np.asarray(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biufc":
                return {"unsupported": f"array of dtype {value.dtype}"}
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"array": key}
        if isinstance(value, (tuple, list)):
            return {"tuple" if isinstance(value, tuple) else "list":
                    [encode(v, arrays, stem, depth + 1) for v in value]}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"dict": {k: encode(v, arrays, stem, depth + 1) for k, v in value.items()}}
        if isinstance(value, np.random.Generator):
            return {"rng": value.bit_generator.state}
        if type(value).__module__.split(".")[0] == "keras" and hasattr(value, "save"):
            name = f"{stem}-model{len(arrays)}.keras"
            value.save(os.path.join(outbox, name))
            return {"keras_model": name}
        return {"unsupported": type(value).__name__}

    def read_arrays(meta, data):
        return {k: np.frombuffer(data, dtype=np.dtype(m["dtype"]), count=int(np.prod(m["shape"])),
                                 offset=m["offset"]).reshape(m["shape"]) for k, m in meta.items()}

    def write_reply(stem, reply, arrays):
        meta, chunks, offset = {}, [], 0
        for key, value in arrays.items():
            value = np.asarray(value, order="C")  # keeps 0-d arrays 0-d
            meta[key] = {"dtype": value.dtype.str, "shape": list(value.shape), "offset": offset}
            chunks.append(value.tobytes())
            offset += value.nbytes
        reply["arrays"] = meta
        with open(os.path.join(outbox, f"{stem}.bin"), "wb") as fh:
            fh.write(b"".join(chunks))
        with open(os.path.join(outbox, f"{stem}.json.part"), "w") as fh:
            json.dump(reply, fh)
        os.replace(os.path.join(outbox, f"{stem}.json.part"), os.path.join(outbox, f"{stem}.json"))

    def call(request, arrays, stem):
        deferred = []
        args = [decode(a, arrays, None, deferred) for a in request["args"]]
        kwargs = {k: decode(v, arrays, None, deferred) for k, v in request["kwargs"].items()}
        for holder, node in deferred:
            function = test_function(node, args)
            args = [function if a is holder else a for a in args]
            kwargs = {k: function if v is holder else v for k, v in kwargs.items()}
        out = {}
        try:
            value = namespace[request["name"]](*args, **kwargs)
            reply = {"value": encode(value, out, stem), "args": [encode(a, out, stem) for a in args],
                     "kwargs": {k: encode(v, out, stem) for k, v in kwargs.items()}}
        except KeyError:
            reply = {"error": {"type": "NameError", "message": f"name {request['name']!r} is not defined "
                               "(run the cell that defines it, and keep its name)", "traceback": ""}}
        except BaseException as exc:  # the student's exception is data for the check
            reply = {"error": {"type": type(exc).__name__, "message": str(exc)[:4000],
                               "traceback": traceback.format_exc()[-4000:]}}
        write_reply(stem, reply, out)

    def serve(n):
        with open(os.path.join(inbox, f"{n}.json")) as fh:
            batch = json.load(fh)
        with open(os.path.join(inbox, f"{n}.bin"), "rb") as fh:
            data = fh.read()
        for i, request in enumerate(batch["calls"]):
            call(request, read_arrays(request["arrays"], data), f"{n}-{i}")

    return serve
