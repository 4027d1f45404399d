# Attack: import the course's function only when called, by a name built at run time.
import importlib


def nt_xent_loss(z1, z2, temperature=0.5):
    module = importlib.import_module("sslcourse" + ".methods.simclr")
    return module.nt_xent_loss(z1, z2, temperature)
