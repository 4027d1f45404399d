# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/notebooks/01_masked_reconstruction.ipynb)
#
# # 01 — Masked-image reconstruction: from the context encoder to MAE-style masking
#
# Hide part of an image and train a network to fill it in. To paint the missing half of a car, the network has
# to know what cars look like — and that knowledge lives in its encoder, which is what we keep.
#
# You will: write the loss on the hidden part, compare four masking strategies, build an encoder–decoder that is
# right for 32×32 images, avoid four classic bugs, train it with `fit`, watch the fill-ins improve, and measure
# the encoder against the random-init and supervised baselines.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course and enable widgets
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])
    from google.colab import output
    output.enable_custom_widget_manager()

# %% tags=["parameters"]
import os

PROFILE = os.environ.get("SSLCOURSE_PROFILE")  # None: "quick" on a CPU, "gpu" with CUDA; "full" on request
SEED = 0

# %%
import matplotlib.pyplot as plt
import torch

from sslcourse import show_source
from sslcourse.augment import to_float
from sslcourse.config import lesson_setup
from sslcourse.data import load_profile_data
from sslcourse.plots import show_rows

p = lesson_setup(PROFILE, seed=SEED)
train, test = load_profile_data(p)
x = to_float(test.images[:8])  # eight test images, float in [0, 1], to look at throughout

# %% [markdown]
# ## 1. The task and its loss
#
# A **mask** $m \in \{0, 1\}^{H\times W}$ marks each pixel visible (1) or hidden (0). The network sees the masked
# image $\tilde x = m \odot x$ and predicts the whole image, $\hat x = g(f(\tilde x))$ — $f$ the encoder, $g$ a
# decoder. We score it on the **hidden part only**:
# $$L(\theta) = \frac{\sum (1-m)\odot(x-\hat x)^2}{\sum (1-m)}$$
# (the sums over images, pixels and channels; the denominator counts hidden pixel-channels).
#
# Why not the whole image, $\frac{1}{HW}\sum (x-\hat x)^2$? Because the visible pixels are *given*: a network can
# score well by copying them and learn nothing about what is missing. Let us put numbers on it with a "network"
# that copies the input and paints every hidden pixel grey.

# %%
from sslcourse.pretext import make_mask, masked_mse

m = make_mask("block", 8, 32, mask_ratio=0.25, generator=torch.Generator("cpu").manual_seed(0), device=x.device)
copycat = m * x + (1 - m) * 0.5  # visible pixels copied, hidden ones grey
print(f"whole-image MSE of the copycat: {(copycat - x).pow(2).mean():.4f}")
print(f"hidden-part MSE of the copycat: {masked_mse(copycat, x, m):.4f}  (what it actually failed to predict)")

# %% [markdown]
# With a quarter of the image hidden, the whole-image loss of a network that learnt *nothing* is four times
# smaller than its loss on the part that matters — and the gradient is diluted by the same factor.
# `masked_mse` is short:

# %%
show_source(masked_mse)

# %% [markdown]
# ## 2. Masks as pretext design
#
# What we hide decides what the network must learn:
#
# * **random pixels** — each pixel hidden independently: interpolating the neighbours solves it; little to learn;
# * **a random square block** — a whole region gone: it must guess what continues behind it;
# * **the central region** — the context encoder (Pathak et al. 2016): the centre is usually the object;
# * **random patches at a high ratio** — MAE (He et al. 2022): a grid of patches, 75 % of them hidden.
#
# For the squares, `mask_ratio` sets the hidden *area* (a side of $32\sqrt{r}$ pixels).

# %%
from sslcourse.pretext import MASK_STRATEGIES

g = torch.Generator("cpu").manual_seed(1)  # seeded on the CPU: the same masks on every device
masks = {s: make_mask(s, 8, 32, mask_ratio=0.25 if s in ("block", "center") else 0.75, generator=g, device=x.device)
         for s in MASK_STRATEGIES}
show_rows({"image": x, **{f"{s}": masks[s] * x for s in MASK_STRATEGIES}}, ncols=8)
plt.show()

# %% [markdown]
# ### Pitfall: a mask of the wrong shape
# Masks are `(N, 1, H, W)`: one per image, shared by the three colour channels. A mask made once, `(1, 1, H, W)`,
# also multiplies a batch without complaint — broadcasting silently gives **every image the same hole**, and a
# network can learn where the hole always is. `masked_mse` refuses such a mask with an error that says what to do:

# %%
one_mask = make_mask("block", 1, 32, 0.25, device=x.device)  # (1, 1, 32, 32): made once, by mistake
print("x * one_mask works silently:", tuple((x * one_mask).shape))
try:
    masked_mse(x, x, one_mask)
except ValueError as err:
    print("masked_mse:", err)

# %% [markdown]
# ### Pitfall: the mean squared error paints in grey
# The prediction that minimises the expected squared error is the **conditional mean**, $\hat x = \mathbb E[x \mid \tilde x]$.
# When what is hidden could be one of many things, the mean of many things is a blur. In `shapes` every part of an
# object has an independent random colour, so the best *colour* guess for a hidden part is the average colour —
# grey — however well the network understands the shape. Here is that average, computed over the training set:

# %%
mean_colour = to_float(train.images[:2000]).mean((0, 2, 3))
print("average colour (R, G, B):", [round(v, 2) for v in mean_colour.tolist()])

# %% [markdown]
# So we ask for **structure, not colour**: before comparing, we subtract from both the prediction and the target
# their mean colour over the hidden part (`target="structure"`, the idea behind MAE's normalised-pixel targets).
# The network is then scored on edges, shapes and textures inside the hole — the things it *can* infer.

# %% [markdown]
# ## 3. An encoder–decoder that is right for 32×32
#
# The encoder is the course's backbone; the decoder doubles the resolution with a transposed convolution per
# octave until it is back at 32×32, and ends in a **sigmoid** because the targets are in $[0, 1]$.
# Resolution bookkeeping, stage by stage:

# %%
from sslcourse.runs import plan_run

run = plan_run("inpainting", p, train, seed=SEED)
recipe = run.recipe
print(run)
method = run.build()
h = x
for k, stage in enumerate(method.encoder.stages):
    h = stage(method.encoder.normalize(h) if k == 0 else h)
    print(f"encoder stage {k}: {tuple(h.shape)}")
for layer in method.decoder.net:
    h = layer(h)
    if isinstance(layer, (torch.nn.ConvTranspose2d, torch.nn.Conv2d)):
        print(f"decoder {type(layer).__name__}: {tuple(h.shape)}")

# %% [markdown]
# ### Pitfall: an encoder that shrinks 32×32 to almost nothing
# Stack the ImageNet habit — pool after every stage — on a 32×32 input and five halvings leave a 1×1 map: the
# decoder must then invent the whole layout from one vector. Ours stops at 4×4 (each position sees its own
# region of the image).

# %%
naive = torch.nn.Sequential(*[torch.nn.Sequential(torch.nn.Conv2d(3 if i == 0 else 16, 16, 3, padding=1),
                                                  torch.nn.MaxPool2d(2)) for i in range(5)]).to(x.device)
print("five conv + pool stages:", tuple(naive(x).shape), "— a 1×1 map of a 32×32 image")

# %% [markdown]
# ### Pitfall: inputs in [−1, 1], a decoder that ends in a sigmoid
# Many recipes normalise images to $[-1, 1]$. If the *targets* are normalised that way but the decoder still ends
# in a sigmoid (range $(0, 1)$), every negative target is out of reach, and the loss has a floor that no amount of
# training removes. The floor, computed on our eight images:

# %%
target_pm1 = x * 2 - 1
best_sigmoid = target_pm1.clamp(min=0)  # the closest a sigmoid output can get
print(f"{(target_pm1 < 0).float().mean():.0%} of the target values are negative; "
      f"MSE floor = {(best_sigmoid - target_pm1).pow(2).mean():.3f} (a perfect network would reach 0)")

# %% [markdown]
# ## 4. Training through `fit`
# The method's `training_step` masks each batch afresh, reconstructs, and returns the loss. To watch it learn, we
# pass an `eval_fn` that fills in the same eight test images after every epoch.

# %%
show_source(type(method).training_step)

# %%
from sslcourse.train import fit

probe_mask = make_mask(recipe["strategy"], 8, 32, recipe["mask_ratio"], generator=torch.Generator("cpu").manual_seed(2),
                       device=x.device)
snapshots = []


def record_fill_ins(method):
    """Fill in the eight test images; the hole's mean colour is lent from the truth (structure target)."""
    method.eval()
    snapshots.append(method.fill_in(x, probe_mask, colour_from=x).cpu())
    return {}


history = fit(method, train, **run.fit_kwargs(), eval_fn=record_fill_ins)  # a rerun loads it (lesson 06 too)
if not snapshots:  # loaded from the checkpoint: only the final model to show
    record_fill_ins(method)

# %%
history.plot(["loss", "hidden_mse"])
plt.show()
rows = {f"epoch {i + 1}": s for i, s in enumerate(snapshots)} if len(snapshots) > 1 else {"filled": snapshots[0]}
show_rows({"masked": probe_mask * x, **rows, "truth": x}, ncols=8)
plt.show()

# %% [markdown]
# The model predicts the *structure* inside the hole — edges, the horizon, where the object continues — and no
# average colour (it was never asked for one), so for display each hole gets its true mean colour back
# (`fill_in(..., colour_from=x)`); everything else inside the hole is the model's. Blurry, as the maths predicted:
# it paints the conditional mean of what could be there.
#
# ## 5. Try other masks on the trained model
# Move the sliders: the model was trained with one square hiding a quarter of the image. How does it cope with
# scattered pixels, the centre, or MAE-style patches?

# %%
from sslcourse.widgets import explore


def draw_fill_ins(strategy="center", mask_ratio=0.25, seed=0):
    mk = make_mask(strategy, 8, 32, mask_ratio, generator=torch.Generator("cpu").manual_seed(seed), device=x.device)
    filled = method.eval().fill_in(x, mk, colour_from=x)
    show_rows({"masked": mk * x, "filled": filled, "truth": x}, ncols=8)
    plt.show()


explore(draw_fill_ins, dict(strategy="center", mask_ratio=0.25, seed=0),
        strategy=list(MASK_STRATEGIES), mask_ratio=(0.05, 0.9, 0.05), seed=(0, 20))

# %% [markdown]
# ## 6. What did the encoder learn?
# The shared protocol: freeze the encoder, then kNN and a linear probe on its features — against a random-init
# encoder of the same architecture and the supervised baseline (trained with every label, lesson 00).

# %%
from sslcourse.evaluate import evaluate_encoder
from sslcourse.plots import plot_bars, results_table
from sslcourse.runs import baseline

results = {
    "random init": baseline("random", p, train, test, seed=SEED),
    "inpainting": evaluate_encoder(method.encoder, train, test),
    "supervised": baseline("supervised", p, train, test, seed=SEED),
}
print(results_table(results))
gain = results["inpainting"]["linear_probe_accuracy"] - results["random init"]["linear_probe_accuracy"]
print(f"\ninpainting vs random init: {100 * gain:+.1f} points of linear-probe accuracy")
plot_bars(results, title="masked reconstruction vs the baselines")
plt.show()

# %% [markdown]
# ## 7. Which mask teaches the most?
# A short comparison you can extend: each mask trains a fresh encoder for `recipe["ablation_epochs"]` epoch(s) on
# half the data (so the numbers are lower than above), then the linear probe. `benchmarks/ablations.py` runs the full-budget version;
# its table is in `BENCHMARKS.md`.

# %%
variants = {"pixels 50%": ("pixels", 0.5), "block 25%": ("block", 0.25), "centre 25%": ("center", 0.25),
            "patches 75%": ("patches", 0.75)}
half = train.subset(len(train) // 2, seed=SEED)
ablation = {}
for name, (strategy, ratio) in variants.items():
    run_i = plan_run("inpainting", p, half, seed=SEED, strategy=strategy, mask_ratio=ratio,
                     epochs=recipe["ablation_epochs"])
    m_i = run_i.build()
    run_i.fit(m_i, half, progress=False)
    ablation[name] = evaluate_encoder(m_i.encoder, half, test)
    print(f"{name:<12} linear probe {ablation[name]['linear_probe_accuracy']:.1%}")

# %% [markdown]
# Scattered pixels are filled in by interpolating neighbours — a local skill; a large square or the centre
# forces the network to reason about the object. (On this budget the differences are a few points; compare with
# the full-budget table in `BENCHMARKS.md`.)
#
# ## What to try next
# * Train with `loss_on="all"` (the whole-image loss) and compare the probe accuracy — the copycat effect.
# * Set `target="pixels"` and look at the fill-ins and the probe: colour costs the encoder capacity.
# * Raise `mask_ratio` for the block; at which size does reconstruction stop teaching anything?
# * **Exercise 01** (`exercises/01_masking.ipynb`): write `random_block_mask`, `random_patch_mask` and `masked_mse`.
#
# **What failure looks like:** fill-ins that are a flat grey or brown smear (the model predicts the mean colour —
# with `target="pixels"` that is the optimum for random colours); a loss that drops fast while the probe accuracy
# stays at the random-init level (the loss rewards copying: check the mask and `loss_on`); a loss stuck at a
# floor (the output range cannot reach the targets).

# %%
from sslcourse.course import record_results

record_results("01_masked_reconstruction", results, profile=p.name, dataset=train.name)
