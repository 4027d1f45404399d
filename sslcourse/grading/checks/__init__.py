"""Each exercise's checks: one module per exercise (its cases, its slow literal references, ``GRADED``,
``WRITTEN``, ``HELPERS``, ``random_cases`` and the ``check_*`` functions notebooks call), and ``core``, the
machinery they share. A case calls ``fn`` — the learner's function as the grader sees it — and judges what
comes back; it knows nothing of processes, sandboxes or files.
"""
