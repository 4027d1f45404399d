"""The check machinery: cases that call a learner's function and judge what comes back.

A case is written as plain code against ``fn``, the learner's function *as the grader sees it*:

* in a notebook's check cell, ``fn`` is a ``LocalFunction``: the real function, called on clones of the
  case's inputs;
* under ``sslcourse grade``, ``fn`` is a ``classroom.grade.RemoteFunction``: each call goes to the learner's
  process (``grading.runner``), which runs the function there and sends back only the raw output.

Either way the case's own inputs and references stay with the grader, outputs must be exactly
``torch.Tensor`` (or a pair of them where the function returns two), and the case raises
``CheckFailed("what was wrong")`` on a wrong answer. An exception from the learner's code arrives as
``LearnerError`` and is reported in one line (type, message, and the line of their code it came from).

Each case is a VALUE case (compares with a reference or pins down what the function must do) or a
PROPERTY case (shape, symmetry, stability, edge cases...). Property cases count only once every value case
of the same function passes, so a function returning constants earns nothing for being "symmetric".
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field

import torch

VALUE, PROPERTY = "value", "property"


class GradingInputError(ValueError):
    """The file to grade (or the test bank) cannot be read; the message says what to do."""


class CheckFailed(AssertionError):
    """A case's answer was wrong; the message says how."""


class LearnerError(Exception):
    """The learner's function raised; ``info`` describes it (type, message, where, whether it is the stub)."""

    def __init__(self, info: dict):
        super().__init__(info.get("text", ""))
        self.info = info

    def is_a(self, name: str) -> bool:
        return name in self.info.get("mro", ())


class FunctionLost(BaseException):
    """``fn`` can no longer be called (raised by whoever calls it for the cases): ``reason`` is "timeout",
    "exit" (the function ended the process it ran in) or "garbled" (it broke the way its outputs come back)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class GeneratorArg:
    """A ``torch.Generator`` seeded with ``seed``, made where the function runs."""

    seed: int

    def make(self):
        return torch.Generator().manual_seed(self.seed)

    def as_data(self) -> dict:
        """What it is, as data, for a function that runs elsewhere (the runner makes it there)."""
        return {"$generator": self.seed}


@dataclass(frozen=True)
class AugmentArg:
    """An augmentation ``x -> x + scale · noise`` whose noise comes from a generator seeded with ``seed``:
    the grader can tell which draws the learner's function used."""

    seed: int
    scale: float = 0.01

    def make(self):
        g = torch.Generator().manual_seed(self.seed)
        return lambda x: x + self.scale * torch.randn(x.shape, generator=g, dtype=x.dtype)

    def as_data(self) -> dict:
        return {"$noise": [self.seed, self.scale]}


@dataclass
class Result:
    function: str
    name: str
    passed: bool
    message: str = ""
    hint: str = ""
    points: int = 1


@dataclass
class Report:
    """The results of one or more checks; ``score`` / ``max_score`` count the passed cases' points."""

    results: list = field(default_factory=list)
    exercise: str = ""
    error: str | None = None

    @property
    def score(self) -> int:
        return sum(r.points for r in self.results if r.passed)

    @property
    def max_score(self) -> int:
        return sum(r.points for r in self.results)

    def to_dict(self) -> dict:
        return {"exercise": self.exercise, "score": self.score, "max_score": self.max_score,
                "error": self.error, "checks": [asdict(r) for r in self.results]}

    def __repr__(self) -> str:
        return f"<{self.score}/{self.max_score} checks passed>"


@dataclass
class Case:
    name: str
    run: callable  # run(fn) -> None, raises CheckFailed
    hint: str = ""
    kind: str = PROPERTY
    points: int = 1


@dataclass
class Graded:
    """A graded function: its cases and how many tensors it returns (1, or 2 for a pair)."""

    cases: callable
    returns: int = 1


# ---- outputs ----

class Other:
    """Something that is not a plain tensor, as it came back from the learner's function."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name}>"


def plain_output(value):
    if isinstance(value, dict) and "$other" in value:
        return Other(value["$other"])
    return value


def check_output(function: str, value, returns: int):
    """Exactly ``torch.Tensor`` (returns=1) or a pair of them (returns=2); anything else fails the case."""
    if isinstance(value, dict) and "$seq" in value:
        items = tuple(plain_output(v) for v in value["items"])
        if returns == 1:
            raise CheckFailed(f"{function} returned a {value['$seq']} of {len(items)}, not one tensor")
        if len(items) != returns:
            raise CheckFailed(f"{function} should return {returns} tensors, got a {value['$seq']} of "
                              f"{len(items)}")
        for k, item in enumerate(items, 1):
            if not type(item) is torch.Tensor:
                raise CheckFailed(f"item {k} of what {function} returned should be a torch.Tensor, got "
                                  f"{getattr(item, 'type_name', type(item).__name__)}")
        return items
    value = plain_output(value)
    if type(value) is not torch.Tensor:
        name = getattr(value, "type_name", type(value).__name__)
        if returns == 2:
            raise CheckFailed(f"{function} should return a pair of tensors, got {name}")
        raise CheckFailed(f"{function} should return a torch.Tensor, got {name}: build the result with torch "
                          "operations")
    return value


def encode_local(value, top=True):
    """What the worker does to an output, done in-process: plain tensors are copied, the rest described."""
    if type(value) is torch.Tensor:
        if value.layout != torch.strided:
            return {"$other": f"{value.layout} tensor"}
        return value.detach().clone()
    if top and type(value) in (tuple, list):
        return {"$seq": type(value).__name__, "items": [encode_local(v, top=False) for v in value]}
    return {"$other": type(value).__name__}


def _local_arg(arg):
    if isinstance(arg, (GeneratorArg, AugmentArg)):
        return arg.make()
    if isinstance(arg, torch.Tensor):
        return arg.clone()
    return arg


class LocalFunction:
    """The learner's function, run in this process on clones of the inputs (a notebook's check cell)."""

    def __init__(self, fn, name: str, returns: int = 1):
        self.fn, self.name, self.returns = fn, name, returns

    def _run(self, args, kwargs):
        try:
            torch.manual_seed(0)
            return self.fn(*args, **kwargs)
        except (CheckFailed, FunctionLost):
            raise
        except Exception as err:
            raise LearnerError(describe_local(err, self.fn)) from None

    def __call__(self, *args, **kwargs):
        args, kwargs = [_local_arg(a) for a in args], {k: _local_arg(v) for k, v in kwargs.items()}
        return check_output(self.name, encode_local(self._run(args, kwargs)), self.returns)

    def with_grad(self, *args, wrt=(0,), **kwargs):
        args, kwargs = [_local_arg(a) for a in args], {k: _local_arg(v) for k, v in kwargs.items()}
        for i in wrt:
            args[i] = args[i].detach().requires_grad_(True)
        raw = self._run(args, kwargs)
        out = check_output(self.name, encode_local(raw), self.returns)
        try:
            grads = torch.autograd.grad(raw, [args[i] for i in wrt], allow_unused=True)
        except RuntimeError as err:
            raise CheckFailed(f"no gradient reaches the inputs ({str(err).splitlines()[0][:200]})") from None
        if any(g is None for g in grads):
            raise CheckFailed("no gradient reaches the inputs: the result does not depend on them through torch "
                              "operations")
        return out, [g.detach() for g in grads]

    def with_inputs(self, *args, **kwargs):
        args, kwargs = [_local_arg(a) for a in args], {k: _local_arg(v) for k, v in kwargs.items()}
        out = check_output(self.name, encode_local(self._run(args, kwargs)), self.returns)
        return out, [encode_local(a, top=False) for a in args]


def describe_local(err: BaseException, fn) -> dict:
    """The worker's description of an exception, for a function run in this process."""
    import traceback

    frames = traceback.extract_tb(err.__traceback__)
    home = getattr(getattr(fn, "__code__", None), "co_filename", None)
    mine = [f for f in frames if f.filename == home]
    where = ""
    if mine:
        f = mine[-1]
        where = f" (in {f.name}, line {f.lineno}: {f.line.strip()})" if f.line else f" (in {f.name}, line {f.lineno})"
    text = str(err).strip().split("\n")[0]
    if len(text) > 200:
        text = text[:200] + "…"
    return {"type": type(err).__name__, "mro": [c.__name__ for c in type(err).__mro__], "message": text,
            "where": where, "text": f"{type(err).__name__}: {text}{where}",
            "stub": isinstance(err, NotImplementedError) and bool(frames) and frames[-1].filename == home,
            "course": False}


def describe_error(info: dict, function: str) -> str:
    if info.get("stub"):
        return f"{function} is not implemented yet: replace the `raise NotImplementedError` with your code"
    if info.get("course"):
        return f"{function} {info['message']}"
    text = f"raised {info['type']}: {info['message']}{info['where']}"
    if info["type"] == "NameError":
        text += (" (grading loads only the notebook's definitions: imports, functions, classes and assignments, at the "
                 "top level or inside if/with/try blocks)")
    if "can't allocate memory" in info["message"] or info["type"] == "MemoryError":
        text += " — over the grader's memory limit"
    return text


LOST = {"timeout": "timed out", "exit": "ended its process (exit, crash or memory limit)",
        "garbled": "broke the grader's channel (a message too large or not in the grader's format)"}


def run_function_cases(function: str, fn, cases: list[Case]) -> list[Result]:
    """Run every case; property cases count only if every value case passed.

    ``fn`` is a LocalFunction or RemoteFunction. FunctionLost (time-out, exit) fails the running case and
    every later one of this function, and is re-raised so the caller can restart the worker.
    """
    results, lost = [], None
    for case in cases:
        if lost:
            results.append(Result(function, case.name, False, f"not run: {function} {LOST[lost.reason]} "
                                                              "in an earlier case", case.hint, case.points))
            continue
        try:
            case.run(fn)
            results.append(Result(function, case.name, True, "", "", case.points))
        except CheckFailed as err:
            results.append(Result(function, case.name, False, str(err), case.hint, case.points))
        except LearnerError as err:
            results.append(Result(function, case.name, False, describe_error(err.info, function), case.hint,
                                  case.points))
        except Exception as err:  # the case's own code choked on an odd output (shape, dtype): a failed case
            results.append(Result(function, case.name, False, f"the output could not be checked ({type(err).__name__}: "
                                  f"{str(err).splitlines()[0][:150] if str(err) else ''}): check its shape and dtype",
                                  case.hint, case.points))
        except FunctionLost as err:
            lost = err
            results.append(Result(function, case.name, False, f"{function} {LOST[err.reason]} in this case",
                                  case.hint, case.points))
    values_ok = all(r.passed for r, c in zip(results, cases) if c.kind == VALUE)
    if not values_ok:
        failed_value = next(c.name for r, c in zip(results, cases) if c.kind == VALUE and not r.passed)
        for r, c in zip(results, cases):
            if c.kind == PROPERTY and r.passed:
                r.passed = False
                r.message = f"holds, but counts only once “{failed_value}” passes"
    if lost:
        raise _Lost(results, lost)
    return results


class _Lost(Exception):
    def __init__(self, results, lost):
        super().__init__(lost.reason)
        self.results, self.reason = results, lost.reason


def run_cases(function: str, fn, cases: list[Case], returns: int = 1) -> list[Result]:
    """Check a function in this process (the notebook's check cells, and tests)."""
    if not callable(fn):
        return [Result(function, c.name, False, f"{function} is not a function (got {type(fn).__name__})", c.hint,
                       c.points) for c in cases]
    try:
        return run_function_cases(function, LocalFunction(fn, function, returns), cases)
    except _Lost as lost:
        return lost.results


def print_results(results: list[Result], title: str = "", file=None) -> None:
    file = file or sys.stdout
    if title:
        print(title, file=file)
    messages = {r.message for r in results}
    if len(results) > 1 and not any(r.passed for r in results) and len(messages) == 1:
        print(f"  ✘ all {len(results)} checks: {results[0].message}", file=file)  # e.g. not implemented yet
        print(f"  0/{len(results)} checks passed", file=file)
        return
    for r in results:
        if r.passed:
            print(f"  ✔ {r.name}", file=file)
        elif r.message.startswith("holds, but"):
            print(f"  ○ {r.name}: {r.message}", file=file)
        else:
            print(f"  ✘ {r.name}: {r.message}", file=file)
            if r.hint and not r.message.startswith(("holds, but", "not run")):
                print(f"      hint: {r.hint}", file=file)
    passed = sum(r.passed for r in results)
    print(f"  {passed}/{len(results)} checks passed" + (" — well done!" if passed == len(results) else ""),
          file=file)


def inline_check(function: str, fn, cases: list[Case], returns: int = 1) -> Report:
    """What a notebook calls after an exercise cell: prints each case and returns the report."""
    results = run_cases(function, fn, cases, returns)
    print_results(results, f"Checking {function}:")
    return Report(results)


# ---- assertions for cases: each raises CheckFailed with a message that teaches ----

def expect_tensor(out, what: str, shape=None, dtype=None) -> torch.Tensor:
    if type(out) is not torch.Tensor:
        raise CheckFailed(f"{what} should be a torch.Tensor, got {getattr(out, 'type_name', type(out).__name__)}")
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise CheckFailed(f"{what} should have shape {tuple(shape)}, got {tuple(out.shape)}")
    if dtype is not None and out.dtype != dtype:
        fix = {torch.int64: ".long()", torch.float32: ".float()", torch.bool: ".bool()"}.get(dtype, "")
        raise CheckFailed(f"{what} should have dtype {dtype}, got {out.dtype}" + (f": use {fix}" if fix else ""))
    return out


def expect_close(out, expected: torch.Tensor, what: str, atol: float = 1e-5, rtol: float = 1e-4):
    expect_tensor(out, what, shape=expected.shape)
    if out.is_complex() or not torch.isfinite(out.double()).all():
        raise CheckFailed(f"{what} contains nan or inf")
    if not torch.allclose(out.double(), expected.double(), atol=atol, rtol=rtol):
        diff = (out.double() - expected.double()).abs().max().item()
        raise CheckFailed(f"{what} differs from the reference by up to {diff:.3g}")
    return out


def expect_equal(out, expected: torch.Tensor, what: str):
    expect_tensor(out, what, shape=expected.shape)
    if out.is_complex() or not torch.equal(out.to(expected.dtype), expected):
        wrong = (out.to(expected.dtype) != expected).sum().item() if not out.is_complex() else expected.numel()
        raise CheckFailed(f"{what}: {wrong} of {expected.numel()} values differ from the reference")
    return out


def expect_scalar(out, what: str) -> float:
    """A 0-dim real tensor, as a Python float."""
    expect_tensor(out, what, shape=())
    if out.is_complex() or out.dtype == torch.bool:
        raise CheckFailed(f"{what} should be a real number, got dtype {out.dtype}")
    return float(out)
