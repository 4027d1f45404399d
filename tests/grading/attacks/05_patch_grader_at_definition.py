# Attack: patch the grader from code that runs at definition time (class body, decorator, default argument).
import sys

import torch


class _Patch:
    main = sys.modules["__main__"]
    main.run_cases = lambda function, fn, cases: []
    main.run_function_cases = lambda function, fn, cases: []
    for name in list(sys.modules):
        if name.startswith("sslcourse"):
            mod = sys.modules[name]
            for attr in ("run_cases", "run_function_cases", "expect_close", "expect_scalar", "_close"):
                try:
                    setattr(mod, attr, lambda *a, **k: None)
                except Exception:
                    pass
    torch.allclose = lambda *a, **k: True
    torch.equal = lambda *a, **k: True


def _decorate(f):
    import builtins
    builtins.abs = lambda x: 0.0
    return f


@_decorate
def discriminator_loss(real_logits, fake_logits, _=_Patch):
    return torch.zeros(())


@_decorate
def generator_loss(fake_logits, non_saturating=True):
    return torch.zeros(())
