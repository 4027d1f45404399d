"""The check machinery: run a learner's function on cases, report ✔/✘ with a hint, never a raw traceback.

A check is a list of cases. Each case calls the learner's function and raises
``CheckFailed("what was wrong")`` when the answer is wrong; any other exception raised
by the learner's code is caught and reported in one line (type, message, and the line
of their code it came from).
"""
from __future__ import annotations

import sys
import traceback
from dataclasses import asdict, dataclass, field

import torch


class CheckFailed(AssertionError):
    """A case's answer was wrong; the message says how."""


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
    """The results of one or more checks; ``score`` / ``max_score`` count passed cases."""

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


def _is_learner_frame(frame) -> bool:
    path = frame.filename.replace("\\", "/")
    return not any(part in path for part in ("/sslcourse/", "site-packages", "/torch/", "/lib/python"))


def _where(err: BaseException) -> str:
    """The learner's line that raised, if the traceback passes through their code."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if _is_learner_frame(f)]
    if not frames:
        return ""
    f = frames[-1]
    return f" (in {f.name}, line {f.lineno}: {f.line.strip()})" if f.line else f" (in {f.name}, line {f.lineno})"


def describe_exception(err: BaseException, function: str) -> str:
    if isinstance(err, NotImplementedError):
        return (f"{function} is not implemented yet: replace the `raise NotImplementedError` "
                "with your code")
    text = str(err).strip().split("\n")[0]
    if len(text) > 200:
        text = text[:200] + "…"
    return f"raised {type(err).__name__}: {text}{_where(err)}"


def run_cases(function: str, fn, cases: list[Case]) -> list[Result]:
    results = []
    if not callable(fn):
        return [Result(function, c.name, False, f"{function} is not a function (got {type(fn).__name__})", c.hint)
                for c in cases]
    for case in cases:
        try:
            case.run(fn)
            results.append(Result(function, case.name, True))
        except CheckFailed as err:
            results.append(Result(function, case.name, False, str(err), case.hint))
        except Exception as err:  # the learner's code raised: one readable line, not a traceback
            results.append(Result(function, case.name, False, describe_exception(err, function), case.hint))
    return results


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
        else:
            print(f"  ✘ {r.name}: {r.message}", file=file)
            if r.hint:
                print(f"      hint: {r.hint}", file=file)
    passed = sum(r.passed for r in results)
    print(f"  {passed}/{len(results)} checks passed" + (" — well done!" if passed == len(results) else ""),
          file=file)


def inline_check(function: str, fn, cases: list[Case]) -> Report:
    """What a notebook calls after an exercise cell: prints each case and returns the report."""
    results = run_cases(function, fn, cases)
    print_results(results, f"Checking {function}:")
    return Report(results)


# ---- assertions for cases: each raises CheckFailed with a message that teaches ----

def expect_tensor(out, what: str, shape=None, dtype=None) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{what} should be a torch.Tensor, got {type(out).__name__}")
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise CheckFailed(f"{what} should have shape {tuple(shape)}, got {tuple(out.shape)}")
    if dtype is not None and out.dtype != dtype:
        fix = {torch.int64: ".long()", torch.float32: ".float()", torch.bool: ".bool()"}.get(dtype, "")
        raise CheckFailed(f"{what} should have dtype {dtype}, got {out.dtype}" + (f": use {fix}" if fix else ""))
    return out


def expect_close(out: torch.Tensor, expected: torch.Tensor, what: str, atol: float = 1e-5, rtol: float = 1e-4):
    expect_tensor(out, what, shape=expected.shape)
    if not torch.isfinite(out.float()).all():
        raise CheckFailed(f"{what} contains nan or inf")
    if not torch.allclose(out.float(), expected.float(), atol=atol, rtol=rtol):
        diff = (out.float() - expected.float()).abs().max().item()
        raise CheckFailed(f"{what} differs from the reference by up to {diff:.3g}")
    return out


def expect_equal(out, expected: torch.Tensor, what: str):
    expect_tensor(out, what, shape=expected.shape)
    if not torch.equal(out.to(expected.dtype), expected):
        wrong = (out.to(expected.dtype) != expected).sum().item()
        raise CheckFailed(f"{what}: {wrong} of {expected.numel()} values differ from the reference")
    return out
