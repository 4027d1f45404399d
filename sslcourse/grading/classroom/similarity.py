"""Near-identical graded code across a class, for the teacher to look at.

A submission's *graded code* is what defines the exercise's graded functions and what they call, read from the
source (nothing runs). It is normalised before comparing: comments, docstrings and layout are gone (the syntax
tree keeps none), every name a learner chooses (functions, arguments, variables) becomes v0, v1, ... in order of
appearance, and string literals become one token; attribute names (``F.normalize``, ``.mean``) and numbers stay.
The stub of an exercise (``raise NotImplementedError``) is left out, so unfinished work is never "similar".

Two submissions whose normalised code matches at ``THRESHOLD`` or more (difflib's ratio over the tokens), with
at least ``MIN_TOKENS`` tokens of it, are flagged on both rows — as is a submission that matches the published
solution, where the course's ``solutions/`` is beside the package. A flag is a reason to look, not a verdict:
short exercises have few ways to be written.
"""
from __future__ import annotations

import ast
import difflib
import re

THRESHOLD = 0.92
MIN_TOKENS = 60
SHINGLE = 5


class _Normalise(ast.NodeTransformer):
    def __init__(self):
        self.names = {}

    def _name(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        node.id = self._name(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self._name(node.arg)
        node.annotation = None
        return node

    def visit_FunctionDef(self, node):
        node.name = self._name(node.name)
        node.returns = None
        if node.body and isinstance(node.body[0], ast.Expr) and isinstance(getattr(node.body[0], "value", None),
                                                                           ast.Constant) \
                and isinstance(node.body[0].value.value, str) and len(node.body) > 1:
            node.body = node.body[1:]  # the docstring
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        node.name = self._name(node.name)
        self.generic_visit(node)
        return node

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            node.value = "S"
        return node


def _is_stub(node) -> bool:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = [n for n in node.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    return len(body) == 1 and isinstance(body[0], ast.Raise) and "NotImplementedError" in ast.dump(body[0])


def fingerprint(cells: list[str], functions: list[str]) -> list[str]:
    """The normalised tokens of a submission's graded code ([] if there is none, or only stubs)."""
    from ..runner import source

    try:
        plan = source.plan(cells, functions)
        nodes = [n for n in source.graded_code(plan, sorted(functions)) if not _is_stub(n)]
        normaliser = _Normalise()
        text = "\n".join(ast.unparse(normaliser.visit(n)) for n in nodes)
    except (RecursionError, ValueError, SyntaxError, MemoryError):
        return []
    return re.findall(r"\w+|[^\w\s]", text)


def _shingles(tokens: list[str]) -> set:
    return {tuple(tokens[i:i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}


def similar_pairs(prints: dict) -> list[tuple[str, str, float]]:
    """[(a, b, ratio)] for every pair of {name: tokens} at or above THRESHOLD, each pair once."""
    items = [(k, v, _shingles(v)) for k, v in prints.items() if len(v) >= MIN_TOKENS]
    out = []
    for i, (a, ta, sa) in enumerate(items):
        for b, tb, sb in items[i + 1:]:
            if len(sa & sb) / max(1, len(sa | sb)) < 0.5:  # cheap first: most pairs share little
                continue
            ratio = difflib.SequenceMatcher(None, ta, tb, autojunk=False).ratio()
            if ratio >= THRESHOLD:
                out.append((a, b, ratio))
    return out
