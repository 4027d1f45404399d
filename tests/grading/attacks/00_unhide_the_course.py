# Attack: undo whatever hides the course from this process (import hooks, cached modules) and call the course's
# own implementation from inside a def, by a module name built at run time.
import importlib
import sys


def _unhide():
    sys.meta_path[:] = [f for f in sys.meta_path if "Course" not in type(f).__name__]
    for name in [m for m in sys.modules if m.startswith("ssl" + "course")]:
        del sys.modules[name]


_unhide()


def cosine_similarity_matrix(a, b):
    module = importlib.import_module("ssl" + "course.grading.checks.knn")
    return module.reference_cosine(a, b).float()
