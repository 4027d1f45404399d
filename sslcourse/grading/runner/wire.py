"""The messages between the grader and a worker: typed, bounded, read in linear time, no pickles.

A message is a frame::

    HEADER (16 bytes: ">QQ" = the JSON's length, the data's length)
    JSON   (UTF-8, at most MAX_JSON bytes): the value, with tensors as {"$t": [dtype, shape, offset]}
    DATA   (at most MAX_DATA bytes): every tensor's bytes, contiguous, each at a 16-byte boundary

JSON holds None, bool, int, float (NaN and ±inf too), str, lists and dicts with string keys; a few marked
dicts hold what JSON has no word for: ``{"$t": ...}`` a tensor, ``{"$tuple": [...]}`` a tuple,
``{"$generator": seed}`` a seeded ``torch.Generator``, ``{"$noise": [seed, scale]}`` a function adding seeded
Gaussian noise, ``{"$other": "type name"}`` something that cannot travel, named.

The reader (``decode``) trusts nothing: sizes are checked before anything is allocated, nesting is bounded,
every tensor is a plain, contiguous CPU tensor of a known dtype whose bytes lie inside DATA in order, and a
boolean tensor holds only 0 and 1. This module imports only the standard library and torch: the worker
loads it by file name, without the course.
"""
from __future__ import annotations

import json
import math
import struct

HEADER = struct.Struct(">QQ")
MAX_JSON = 1 << 20  # 1 MiB of structure
MAX_DATA = 64 << 20  # 64 MiB of tensors in one message
MAX_DEPTH = 16
MAX_DIMS = 16
ALIGN = 16
DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128",
          "uint8", "int8", "int16", "int32", "int64", "bool")


class WireError(ValueError):
    """A message that breaks the format: too large, too deep, or not what it says it is."""


def _dtype(name: str):
    import torch

    if name not in DTYPES:
        raise WireError(f"unknown dtype {name!r}")
    return getattr(torch, name)


def encode(value, max_data: int = MAX_DATA) -> list:
    """[header, json, data...] for ``value``; WireError if it is larger than the limits."""
    writer = _Writer(max_data)
    text = json.dumps(writer.walk(value, 0), separators=(",", ":")).encode()
    if len(text) > MAX_JSON:
        raise WireError(f"more than {MAX_JSON >> 10} KiB of structure")
    return [HEADER.pack(len(text), writer.size), text, *writer.chunks]


class _Writer:
    """Walks a value into JSON and raw chunks (a class, not a recursive closure: no reference cycle keeps the
    chunks alive after the message is sent)."""

    def __init__(self, max_data: int):
        self.chunks, self.size, self.max_data = [], 0, max_data

    def walk(self, x, depth):
        import torch

        if depth > MAX_DEPTH:
            raise WireError("nested too deeply")
        if isinstance(x, torch.Tensor):
            return self.tensor(x)
        if x is None or type(x) in (bool, int, float, str):
            return x
        if type(x) is tuple:
            return {"$tuple": [self.walk(v, depth + 1) for v in x]}
        if type(x) is list:
            return [self.walk(v, depth + 1) for v in x]
        if type(x) is dict and all(type(k) is str for k in x):
            return {k: self.walk(v, depth + 1) for k, v in x.items()}
        raise WireError(f"a {type(x).__name__} cannot travel")

    def tensor(self, x):
        import torch

        if type(x) is not torch.Tensor or x.layout != torch.strided or x.device.type != "cpu":
            raise WireError("only plain CPU tensors travel")
        name = str(x.dtype).removeprefix("torch.")
        if name not in DTYPES:
            raise WireError(f"a tensor of dtype {x.dtype} cannot travel")
        nbytes = x.numel() * x.element_size()
        pad = -self.size % ALIGN
        if self.size + pad + nbytes > self.max_data:
            raise WireError(f"more than {self.max_data >> 20} MiB of tensors")
        if pad:
            self.chunks.append(bytes(pad))
        offset = self.size + pad
        if nbytes:
            self.chunks.append(x.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        self.size = offset + nbytes
        return {"$t": [name, list(x.shape), offset]}


def check_header(header: bytes, max_data: int = MAX_DATA) -> tuple[int, int]:
    """(json length, data length) of a frame, refused before anything is allocated if over the limits."""
    n_json, n_data = HEADER.unpack(header)
    if n_json > MAX_JSON or n_data > max_data:
        raise WireError(f"a message of {n_json + n_data} bytes: over the limit of {(MAX_JSON + max_data) >> 20} MiB")
    return n_json, n_data


def decode(text: bytes, data: bytearray):
    """The value of a frame's JSON and DATA, every part checked (WireError otherwise)."""
    try:
        tree = json.loads(text.decode("utf-8"))
    except (ValueError, RecursionError) as err:
        raise WireError(f"not JSON: {type(err).__name__}") from None
    reader = _Reader(data)
    value = reader.walk(tree, 0)
    if len(data) - reader.end >= ALIGN:
        raise WireError("data that no tensor claims")
    return value


class _Reader:
    """Rebuilds a value from its JSON and the frame's data, checking every tensor against the data."""

    def __init__(self, data: bytearray):
        self.data, self.end = data, 0

    def walk(self, x, depth):
        if depth > MAX_DEPTH:
            raise WireError("nested too deeply")
        if isinstance(x, list):
            return [self.walk(v, depth + 1) for v in x]
        if isinstance(x, dict):
            if "$t" in x and len(x) == 1:
                return self.tensor(x["$t"])
            if "$tuple" in x and len(x) == 1 and isinstance(x["$tuple"], list):
                return tuple(self.walk(v, depth + 1) for v in x["$tuple"])
            return {k: self.walk(v, depth + 1) for k, v in x.items()}
        return x

    def tensor(self, spec):
        import torch

        if not (isinstance(spec, list) and len(spec) == 3 and type(spec[0]) is str and type(spec[1]) is list
                and type(spec[2]) is int):
            raise WireError("a malformed tensor")
        name, shape, offset = spec
        dtype = _dtype(name)
        if len(shape) > MAX_DIMS or not all(type(s) is int and s >= 0 for s in shape):
            raise WireError(f"a malformed shape {shape!r:.80}")
        numel = math.prod(shape)
        nbytes = numel * torch.empty((), dtype=dtype).element_size()
        if offset < self.end or offset % ALIGN or offset + nbytes > len(self.data) or offset - self.end >= ALIGN:
            raise WireError("a tensor outside the message's data, or out of order")
        self.end = offset + nbytes
        if numel == 0:
            return torch.empty(shape, dtype=dtype)
        if dtype == torch.bool:  # any byte but 0 and 1 would be an invalid bool: read bytes, compare
            raw = torch.frombuffer(self.data, dtype=torch.uint8, count=numel, offset=offset)
            return (raw != 0).reshape(shape)
        return torch.frombuffer(self.data, dtype=dtype, count=numel, offset=offset).reshape(shape)
