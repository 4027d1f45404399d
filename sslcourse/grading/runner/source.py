"""A notebook's cells as Python, and which statements define the functions to grade.

* ``to_python`` turns a cell into Python the way IPython does (its own input transformer): ``%magic``,
  ``!shell``, ``obj?`` become calls of ``get_ipython()``; a cell magic that runs its body as Python
  (``%%time``, ``%%capture``...) keeps its body; any other cell magic (``%%bash``) is not Python and is skipped.
* ``plan`` picks, in notebook order, the statements that (transitively) define the graded names: imports,
  ``def``/``class``, assignments, and ``if``/``with``/``try`` blocks that bind one of them at module level.
  Nothing else runs: no training loop, no plot, no check cell.
* ``course_references`` reads, without running anything, whether a graded name is bound to the course's
  own code (an import from a course module the learner may not use) or reaches it from its body.

This module knows no exercise: it is given the function names and the modules the learner may use.
"""
from __future__ import annotations

import ast
import types
from dataclasses import dataclass, field

PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "python", "python3"}
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                ast.Assign, ast.AnnAssign, ast.AugAssign)
_BLOCKS = (ast.If, ast.With, ast.Try) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())


def to_python(cell: str) -> tuple[str | None, str | None]:
    """(Python source, None), or (None, why) for a cell that is not Python."""
    lines = cell.lstrip("\n").split("\n", 1)
    if lines[0].startswith("%%"):
        magic = lines[0][2:].split(None, 1)[0] if lines[0][2:].strip() else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None, f"a %%{magic} cell, not Python"
        cell = "\n" * (cell.count("\n") - (lines[1].count("\n") if len(lines) > 1 else 0)) + (lines[1] if len(lines) > 1 else "")
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(cell), None
    except ImportError:  # IPython comes with ipywidgets; without it, magics are syntax errors (noted)
        return cell, None
    except Exception:  # noqa: BLE001 — a cell IPython cannot transform is parsed as it is
        return cell, None


def bound_names(node) -> set:
    """The module-level names a statement binds (inside an if/with/try block too, not inside a def)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    names = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.stmt, ast.excepthandler)):
            names |= bound_names(child)
    if isinstance(node, ast.ExceptHandler) and node.name:
        names.add(node.name)
    targets = {ast.Assign: lambda n: n.targets, ast.AnnAssign: lambda n: [n.target],
               ast.AugAssign: lambda n: [n.target], ast.For: lambda n: [n.target]}
    for kind, get in targets.items():
        if isinstance(node, kind):
            names |= {n.id for t in get(node) for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(node, (ast.With, ast.AsyncWith)):
        names |= {n.id for item in node.items if item.optional_vars is not None
                  for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name)}
    names |= {n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr)
              and not _inside_function(node, n)}
    return names


def _inside_function(root, target) -> bool:
    for node in ast.walk(root):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)) and node is not root:
            if any(n is target for n in ast.walk(node)):
                return True
    return False


def used_names(node) -> set | None:
    """The global names a statement reads (its functions' locals are not globals); None if it does not compile."""
    try:
        code = compile(ast.Module(body=[node], type_ignores=[]), "<statement>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names, stack = set(), [code]
    while stack:
        c = stack.pop()
        names |= set(c.co_names)  # globals, and attribute names too
        stack += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return names & {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}  # not what is only an attribute


@dataclass
class Statement:
    cell: int  # 1-based
    index: int  # in the cell's module body
    node: ast.stmt
    binds: set
    uses: set


@dataclass
class Plan:
    """What a worker runs: the cells as Python, and which of their statements, in order."""

    cells: list  # Python source per cell ("" for a cell that is not Python)
    statements: list = field(default_factory=list)  # [Statement] to run, in notebook order
    notes: list = field(default_factory=list)

    def for_worker(self) -> dict:
        return {"cells": self.cells, "run": [[s.cell, s.index] for s in self.statements]}


def parse_cells(cells: list[str]) -> tuple[list[str], list, list[str]]:
    """(the cells as Python, [(cell number, its module)], notes)."""
    sources, modules, notes = [], [], []
    for i, cell in enumerate(cells, 1):
        source, why = to_python(cell)
        if source is None:
            notes.append(f"cell {i} is {why} and was skipped")
            sources.append("")
            continue
        sources.append(source)
        try:
            modules.append((i, ast.parse(source)))
        except SyntaxError as err:
            notes.append(f"cell {i} has a syntax error (line {err.lineno}: {err.msg}) and was skipped")
        except (ValueError, RecursionError, MemoryError) as err:
            notes.append(f"cell {i} could not be read ({type(err).__name__}) and was skipped")
    return sources, modules, notes


def plan(cells: list[str], graded: list[str]) -> Plan:
    """The statements that define ``graded`` (and what they need), in notebook order."""
    sources, modules, notes = parse_cells(cells)
    candidates = []
    for cell, module in modules:
        for k, node in enumerate(module.body):
            if isinstance(node, _DEFINITIONS) or (isinstance(node, _BLOCKS) and bound_names(node)):
                uses = used_names(node)
                if uses is not None:
                    candidates.append(Statement(cell, k, node, bound_names(node), uses))
    needed, keep = set(graded), set()
    changed = True
    while changed:
        changed = False
        for k, s in enumerate(candidates):
            star = isinstance(s.node, ast.ImportFrom) and any(a.name == "*" for a in s.node.names)
            if k not in keep and (star or s.binds & needed):
                keep.add(k)
                needed |= s.uses
                changed = True
    return Plan(sources, [s for k, s in enumerate(candidates) if k in keep], notes)


# ---- the course's own code, read from the source ----

def _course_module(name: str | None, course: str, allowed) -> str | None:
    """The module's name if it belongs to the course and is not one the learner may use."""
    if not name or not (name == course or name.startswith(course + ".")):
        return None
    if any(name == a or (a != course and name.startswith(a + ".")) for a in allowed):
        return None  # an allowed module, or the bare package (whose submodules are allowed only by name)
    return name


def _imports_of(node, course: str, allowed) -> dict:
    """{bound name: course module} for the course imports a statement makes (anywhere inside it)."""
    found = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            for a in n.names:
                module = _course_module(a.name, course, allowed)
                if module:
                    found[(a.asname or a.name).split(".")[0]] = module
        elif isinstance(n, ast.ImportFrom) and n.level == 0:
            module = _course_module(n.module, course, allowed)
            if module:
                for a in n.names:
                    found[a.asname or a.name] = f"{module}.{a.name}" if a.name != "*" else module
    return found


def _defines(node, name: str) -> bool:
    """Whether a statement defines ``name`` other than by an import (a def, a class or an assignment)."""
    for n in ast.walk(node):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name:
            return True
        if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and name in bound_names(n):
            return True
    return False


def course_references(p: Plan, graded: list[str], course: str = "sslcourse", allowed=()) -> dict:
    """{graded name: {"status": "course", "origin": ...} or {"status": "uses_course", "origins": [...]}} for
    the graded names bound to, or reaching, course code the learner may not use."""
    imported = {}  # module-level names bound by a course import
    defs = {}  # name -> [statements binding it]
    for s in p.statements:
        if isinstance(s.node, (ast.Import, ast.ImportFrom)) or isinstance(s.node, _BLOCKS):
            for name, module in _imports_of(s.node, course, allowed).items():
                if name in s.binds:
                    imported[name] = module
        for name in s.binds:
            defs.setdefault(name, []).append(s)
    out = {}
    for name in graded:
        last = defs.get(name, [None])[-1]
        if last is not None and name in _imports_of(last.node, course, allowed) and not _defines(last.node, name):
            out[name] = {"status": "course", "origin": _imports_of(last.node, course, allowed)[name]}
            continue
        origins, seen, stack = set(), set(), [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            for s in defs.get(current, []):
                if isinstance(s.node, (ast.Import, ast.ImportFrom)):
                    continue
                origins |= set(_imports_of(s.node, course, allowed).values())  # imports inside a body
                for used in s.uses:
                    if used in imported:
                        origins.add(imported[used])
                    elif used in defs:
                        stack.append(used)
        if origins:
            out[name] = {"status": "uses_course", "origins": sorted(origins)}
    return out


def graded_code(p: Plan, graded: list[str]) -> list:
    """The statements (ast nodes) that define the graded names and the functions they call: what a learner
    wrote for the exercise, for comparing submissions."""
    defs = {}
    for s in p.statements:
        if isinstance(s.node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign)):
            for name in s.binds:
                defs.setdefault(name, []).append(s)
    out, seen, stack = [], set(), list(graded)
    while stack:
        name = stack.pop(0)
        for s in defs.get(name, []):
            if id(s) not in seen:
                seen.add(id(s))
                out.append(s)
                stack += sorted(s.uses & set(defs))
    return [s.node for s in sorted(out, key=lambda s: (s.cell, s.index))]
