"""A CPU proxy for the gpu profile's jigsaw: its recipe's ResNet-18 in bf16 on 10,000 CIFAR-10 images for 3 epochs,
tested on 2,000, against random init; each argument is a variant NAME=dict(recipe changes).

    SSLCOURSE_ROOT=<CIFAR-10> OMP_NUM_THREADS=1 python benchmarks/jigsaw_proxy.py "recipe=dict()" \
        "norm_off=dict(per_tile_norm=False)"          # about 25 minutes a variant on one core

The H200 run put the gpu recipe's jigsaw below random init (BENCHMARKS.md); this asks whether per-tile
standardisation is why, where no GPU is lent (it is not, at this budget).
"""
import sys, time
from sslcourse.config import profile, seed_everything
from sslcourse.data import load_profile_data
from sslcourse.evaluate import evaluate_encoder
from sslcourse.methods import build_method
from sslcourse.runs import baseline, fit_settings
from sslcourse.train import fit

p = profile("gpu", device="cpu", smoke=False)
import dataclasses
p = dataclasses.replace(p, amp="bf16")
train, test = load_profile_data(p, train_size=10000)
test = test.subset(2000)
print(p, len(train), len(test), flush=True)
rand = baseline("random", p, train, test, seed=0)
print(f"random init  kNN {rand['knn_accuracy']:.3f} linear {rand['linear_probe_accuracy']:.3f}", flush=True)
for name, changes in [(a, eval(b)) for a, b in (v.split("=", 1) for v in sys.argv[1:])]:
    seed_everything(0)
    method, r = build_method("jigsaw", p, seed=0, **changes)
    s = fit_settings(p, r); s["epochs"] = 3
    t0 = time.time()
    h = fit(method, train, **s, seed=0, progress=False)
    res = evaluate_encoder(method.encoder, train, test)
    print(f"{name:<24} kNN {res['knn_accuracy']:.3f} linear {res['linear_probe_accuracy']:.3f}  {time.time()-t0:.0f} s", flush=True)
