"""The isolated runner: run a learner's functions where they can reach nothing, and bring back their outputs.

It knows no exercise. It is given a notebook's cells and the names of the functions to call; it returns
what those functions return for the inputs it is sent.

* ``source``  — cells to Python (IPython's own input transformer), and which statements define the functions;
* ``sandbox`` — the operating system's isolation: bubblewrap, a uid or user namespace of its own, a PID
  namespace, no network, a read-only view without the course, limits (see its docstring);
* ``worker``  — the process in the sandbox: loads the definitions, calls a function, sends back the output;
* ``wire``    — the messages: a JSON header and raw tensor bytes, bounded, no pickles;
* ``process`` — the grader's side: start a worker, call it, hold it to its deadlines, end it and all it started.

The trust boundary: the grader builds every input and computes every reference and comparison itself; the
worker's outputs are data (plain tensors of known dtypes, numbers, strings) read in linear time within fixed
limits. Nothing the learner's code does, patches or prints in its own process changes a score except through
the outputs it returns for the grader's inputs.
"""
