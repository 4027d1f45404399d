"""What the graded-exercise tests share: a solution's graded functions defined from its source, and one function's
score over its cases (the checks' own ``run_cases``, in this process)."""
import ast
from pathlib import Path

from sslcourse.grading import graded_functions
from sslcourse.grading.checks.core import run_cases

ROOT = Path(__file__).resolve().parents[2]


def solution_functions(number: str, source: str) -> dict:
    """The graded functions of ``solutions/<source>`` (definitions and the non-course imports they need only)."""
    tree = ast.parse((ROOT / "solutions" / source).read_text())
    graded = set(graded_functions(number))
    keep = [n for n in tree.body if (isinstance(n, ast.FunctionDef) and n.name in graded)
            or (isinstance(n, (ast.Import, ast.ImportFrom)) and "sslcourse" not in ast.unparse(n))]
    ns = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), source, "exec"), ns)
    return ns


def score(number: str, name: str, fn, cases=None) -> tuple:
    """(cases passed, cases, the failed cases' messages) of ``fn`` as exercise ``number``'s ``name``."""
    g = graded_functions(number)[name]
    results = run_cases(name, fn, cases if cases is not None else g.cases(), g.returns)
    return sum(r.passed for r in results), len(results), " | ".join(r.message for r in results if not r.passed)
