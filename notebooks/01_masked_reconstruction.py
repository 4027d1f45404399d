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
# # 01 — Masked-image reconstruction: the context encoder, and what to hide
#
# Hide part of an image and train a network to fill it in. To paint the missing half of a car, the network has
# to know what cars look like — and that knowledge lives in its encoder, which is what we keep.
#
# You will: see why the loss belongs on the hidden part, compare four masking strategies, reproduce and fix the
# bugs of a first draft of this code, build an encoder–decoder that is right for 32×32 images, train it with
# `fit`, compare its fill-ins with a network that learnt nothing, and measure the encoder against the random-init
# and supervised baselines.

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
SEED = int(os.environ.get("SSLCOURSE_SEED", 0))  # the lesson's claims hold for seeds 0, 1, 2 (BENCHMARKS.md)

# %%
import matplotlib.pyplot as plt
import torch

from sslcourse.augment import to_float
from sslcourse.claims import claim
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
# lower that loss by learning to copy them — an identity path from input to output — which competes with learning
# the hole and says nothing about what is missing. Let us put numbers on it with a "network" that copies the
# input and paints every hidden pixel grey.

# %%
from sslcourse.pretext import make_mask, masked_mse

m = make_mask("block", 8, 32, mask_ratio=0.25, generator=torch.Generator("cpu").manual_seed(0), device=x.device)
copycat = m * x + (1 - m) * 0.5  # visible pixels copied, hidden ones grey
whole, hidden = (copycat - x).pow(2).mean().item(), masked_mse(copycat, x, m).item()
print(f"whole-image MSE of the copycat: {whole:.4f}")
print(f"hidden-part MSE of the copycat: {hidden:.4f}  (what it actually failed to predict)")
claim("with a quarter hidden, the copycat's whole-image loss is four times smaller than its hidden-part loss",
      abs(hidden / whole - 4), "<", 1e-3, got=f"a ratio of {hidden / whole:.4f}", where="always")

# %% [markdown]
# With a quarter of the image hidden, the whole-image loss of a network that learnt *nothing* about the hole is four
# times smaller than its loss on the part that matters. The factor itself is harmless (a constant scale changes
# neither the best network nor, much, an Adam step); the cost is what the whole-image loss also asks for: part of
# the network's capacity and of each step goes into copying the visible pixels. In the course's ablations
# (`BENCHMARKS.md`, "Ablations": block 25 %, raw pixels), the whole-image loss taught nothing measurable: a linear
# probe of 35.1 %, at random init's 34.9 %, against 41.0 % for the same run scored on the hole (one seed).
#
# `masked_mse` (you write it in exercise 01) is the formula above. Three properties to check, which your version
# in the exercise must have too: what the prediction says about *visible* pixels does not matter, every hidden
# pixel does, and with nothing hidden the loss is 0 (not 0/0):


# %%
scribbled = copycat + m * torch.rand_like(x)  # change the visible pixels only
row, col = (m[0, 0] == 0).nonzero()[0].tolist()  # the first hidden pixel of image 0
one_wrong = copycat.clone()
one_wrong[0, :, row, col] += 0.5  # change that one pixel
nothing_hidden = torch.ones_like(m)
base = masked_mse(copycat, x, m)
print(f"copycat {base:.6f}; visible pixels scribbled over: {masked_mse(scribbled, x, m) - base:+.1e}; "
      f"one hidden pixel changed: {masked_mse(one_wrong, x, m) - base:+.1e}; "
      f"nothing hidden: {masked_mse(copycat, x, nothing_hidden):.4f}")
claim("what the prediction says about visible pixels does not change the loss",
      bool(masked_mse(scribbled, x, m) == base), where="always")
claim("every hidden pixel changes the loss", bool(masked_mse(one_wrong, x, m) != base), where="always")
claim("with nothing hidden the loss is 0", float(masked_mse(copycat, x, nothing_hidden)), "<=", 0.0,
      where="always")

# %% [markdown]
# ## 2. Masks as pretext design
#
# What we hide decides what the network must learn:
#
# * **random pixels** — each pixel hidden independently: interpolating the neighbours solves it; little to learn;
# * **a random square block** — a whole region gone: it must guess what continues behind it;
# * **the central region** — the context encoder (Pathak et al. 2016): the centre is usually the object;
# * **random patches at a high ratio** — as in MAE (He et al. 2022): a grid of patches, 75 % of them hidden. Here
#   a convolutional encoder sees the whole image with black holes (the hidden pixels set to 0); MAE's point is a
#   Vision Transformer that sees only the visible patches — lesson 07 builds that.
#
# For the squares, `mask_ratio` sets the hidden *area* (a side of $32\sqrt{r}$ pixels).

# %%
from sslcourse.pretext import MASK_STRATEGIES

g = torch.Generator("cpu").manual_seed(1)  # seeded on the CPU: the same masks on every device
ratios = {s: 0.25 if s in ("block", "center") else 0.75 for s in MASK_STRATEGIES}  # the share of pixels hidden
masks = {s: make_mask(s, 8, 32, mask_ratio=ratios[s], generator=g, device=x.device) for s in MASK_STRATEGIES}
show_rows({"image": x, **{f"{s}\n{ratios[s]:.0%} hidden": masks[s] * x for s in MASK_STRATEGIES}}, ncols=8)
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
# ### Two bugs of a first draft: a boolean mask of another size, and no device
# Here is a typical first attempt at this lesson's code. It hid a square with a **boolean
# mask** made for a 16×16 picture and indexed each 3×32×32 image with it:
# ```python
# mask = torch.zeros(16, 16, dtype=torch.bool)
# mask[4:12, 4:12] = True          # the hole
# image[mask] = 0                  # image: (3, 32, 32)
# ```

# %%
mask16 = torch.zeros(16, 16, dtype=torch.bool)  # cpu: the draft's mask, as it wrote it
mask16[4:12, 4:12] = True
image = x[0].clone()  # (3, 32, 32)
try:
    image[mask16] = 0
except IndexError as err:
    print("IndexError:", err)
mask32 = torch.zeros(32, 32, dtype=torch.bool, device=x.device)  # the right size ...
try:
    image[mask32] = 0
except IndexError as err:
    print("32×32, IndexError:", err)  # ... still matched against (channels, rows)

# %% [markdown]
# A boolean index is matched against the **leading** dimensions of the tensor: a 16×16 mask against
# (channels = 3, rows = 32). Making it 32×32 is not enough — it still meets the 3 channels first.
# **Fix:** the course's convention, a float mask `(N, 1, H, W)` with 1 = visible, *multiplied*: `m * x` broadcasts
# the one mask over the three channels, and `1 - m` marks the hole for the loss.
#
# The draft also never said where a tensor lives: the images went to the GPU, the mask was made with
# `torch.ones(n, 1, 32, 32)` — on the CPU. On a CPU-only machine nothing fails, so the bug waits for the first
# GPU. PyTorch's `meta` device raises on a mix with CPU tensors just as CUDA does, so it stands in for the GPU
# here (on a GPU the batch is already there):

# %%
gpu_or_stand_in = x.device if x.device.type == "cuda" else torch.device("meta")
batch = x.to(gpu_or_stand_in)
draft_mask = torch.ones(8, 1, 32, 32)  # cpu: the draft's mask, made without a device
try:
    batch * draft_mask
except RuntimeError as err:
    print(f"batch on {batch.device}, mask on {draft_mask.device} -> RuntimeError: {err}")
fixed = torch.ones(8, 1, 32, 32, device=batch.device)  # the fix: make it where the batch lives
print("with device=batch.device:", tuple((batch * fixed).shape), "on", (batch * fixed).device)

# %% [markdown]
# On CUDA the message reads *"Expected all tensors to be on the same device, but found at least two devices,
# cuda:0 and cpu!"*. **Fix:** make every tensor on its input's device (`device=x.device`), as `make_mask(...,
# device=x.device)` does above.

# %% [markdown]
# ### Pitfall: the mean squared error paints in grey
# The prediction that minimises the expected squared error is the **conditional mean**, $\hat x = \mathbb E[x \mid \tilde x]$.
# When what is hidden could be one of many things, the mean of many things is a blur. In `shapes` every part of an
# object has an independent random colour, so the best *colour* guess for a hidden part is the average colour —
# grey — however well the network understands the shape. Here is that average, computed over the training set:

# %%
mean_colour = to_float(train.images[:2000]).mean((0, 2, 3))
print("average colour (R, G, B):", [round(v, 2) for v in mean_colour.tolist()])
claim("the average colour is a grey: its three channels lie within 0.1 of each other, between 0.3 and 0.7",
      0.3 < mean_colour.min() and mean_colour.max() < 0.7 and mean_colour.max() - mean_colour.min() < 0.1,
      got=str([round(v, 2) for v in mean_colour.tolist()]))

# %% [markdown]
# So we ask for **structure, not colour**: before comparing, we subtract from both the prediction and the target
# their mean colour over the hidden part (`target="structure"`, a cousin of MAE's normalised-pixel targets, which also divide by each patch's spread).
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
# ### The first draft's bottleneck: 32×32 squeezed to 2×2
# The draft's encoder halved the resolution four times, the ImageNet habit, with stride-2 convolutions:
# ```python
# encoder = nn.Sequential(conv(3, 64), conv(64, 128), conv(128, 256), conv(256, 512))   # 32 -> 16 -> 8 -> 4 -> 2
# ```
# (`conv` = a 4×4 convolution with stride 2, then a ReLU.)
# Nothing fails, and nothing in a loss curve would tell you the map is coarse. Follow it through, beside ours:

# %%
def conv(c_in, c_out):
    return torch.nn.Sequential(torch.nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), torch.nn.ReLU())


draft_encoder = torch.nn.Sequential(conv(3, 64), conv(64, 128), conv(128, 256), conv(256, 512)).to(x.device)
h = x
for k, layer in enumerate(draft_encoder):
    h = layer(h)
    print(f"draft stage {k}: {tuple(h.shape)}")
ours = method.encoder.forward_features(x)
cells_draft, cells_ours = h.shape[-1] ** 2, ours.shape[-1] ** 2
print(f"the draft's map: {cells_draft} positions of {32 // h.shape[-1]}×{32 // h.shape[-1]} px; "
      f"ours: {tuple(ours.shape)}, {cells_ours} positions of {32 // ours.shape[-1]}×{32 // ours.shape[-1]} px")
claim("the draft ends at 2×2 and ours at 4×4", h.shape[-1] == 2 and ours.shape[-1] == 4,
      got=f"{h.shape[-1]}×{h.shape[-1]} and {ours.shape[-1]}×{ours.shape[-1]}", where="always")

# %% [markdown]
# At 2×2 each of the four feature vectors summarises a whole 16×16 quadrant, and a 16×16 hole in the centre
# straddles all four: where the hole's edges run must be decoded from four coarse positions. That is a design
# reason, not a measured loss — and not a matter of size: 2×2×512 = 2,048 numbers are a third fewer than our
# 4×4×192 = 3,072, and what matters is where they sit. We keep positions finer. Our
# encoder stops halving at 4×4 — sixteen positions, each with its own 8×8 region — and the decoder above
# doubles the resolution three times back to 32×32.

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
# The method's `training_step` masks each batch afresh (a new random square for every image), reconstructs it, and
# returns the structure loss on the hidden part. Its code is `Inpainting.training_step` in
# `sslcourse/methods/inpainting.py` — read it after exercise 01, which asks you to write that loss. To watch the
# model learn, we pass an `eval_fn` that fills in the same eight test images after every epoch. (A rerun loads the
# trained model from its checkpoint instead, and shows its final fill-ins only: delete the checkpoint to watch again.)

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


history = fit(method, train, **run.fit_kwargs(), eval_fn=record_fill_ins)  # a rerun loads it (lesson 08 too)
if not snapshots:  # loaded from the checkpoint: only the final model to show
    record_fill_ins(method)

# %% [markdown]
# Two curves: `loss`, the structure error the model is trained on (each hole's mean colour removed), and
# `hidden_mse`, the plain pixel error inside the hole with the model's own colour. The second scores something the
# first leaves out, so it need not fall with it — what exactly is exercise 01's written question; the pictures below
# lend each hole its true mean colour.

# %%
from sslcourse.plots import encoder_colour

history.plot(["loss", "hidden_mse"], colour=encoder_colour("inpainting"))
plt.show()
rows = {f"epoch {i + 1}": s for i, s in enumerate(snapshots)} if len(snapshots) > 1 else {"filled": snapshots[0]}
show_rows({"masked": probe_mask * x, **rows, "truth": x}, ncols=8)
plt.show()

# %% [markdown]
# The model was asked for the *structure* inside the hole and no average colour, so for display each hole gets
# its true mean colour back (`fill_in(..., colour_from=x)`); everything else inside the hole is the model's.
# Look at what it paints: on `shapes`, **nearly flat patches** — soft light-to-dark shading at most — and no object
# redrawn (on CIFAR-10 photos, in the gpu profile, the fill-ins do continue some large shapes, such as a plane's
# body). That is the conditional mean the maths predicted: where many things could be hidden, their average is a
# blur.
#
# Is the blur worth anything? Put numbers beside the copycat of section 1, on 500 test images with the
# training mask: the hidden-part error of the copycat's grey, of a **flat patch of the true mean colour** (the
# best a model that knows nothing about structure can do with the colour lent), and of the trained fill-in with
# the same colour lent. And how much does each fill-in vary inside its hole, against the truth? (With fewer than 500
# test images, all of them.)

# %%
from sslcourse.methods.inpainting import flat_patch, hidden_variation

xs = to_float(test.images[:500])  # (n, 3, 32, 32), n = 500 or the whole test split if smaller
mk = make_mask(recipe["strategy"], len(xs), 32, recipe["mask_ratio"], generator=torch.Generator("cpu").manual_seed(3),
               device=xs.device)
errors = {"copycat, grey": masked_mse(mk * xs + (1 - mk) * 0.5, xs, mk).item(),
          "flat patch, true colour": masked_mse(flat_patch(xs, mk), xs, mk).item(),  # each hole its true mean colour
          "trained fill-in, true colour": masked_mse(method.eval().fill_in(xs, mk, colour_from=xs), xs, mk).item()}
for name, e in errors.items():
    print(f"{name:<30} hidden-part MSE {e:.4f}")
variation = hidden_variation(method.fill_in(xs, mk, colour_from=xs), xs, mk)  # around each hole's own mean colour
print(f"variance inside the hole, fill-in / truth: {variation:.2f}")
claim("the trained fill-in's hidden-part error is below the flat patch's",
      errors["trained fill-in, true colour"], "<", errors["flat patch, true colour"], fmt="{:.4f}")
claim("the flat patch of the true colour beats the grey copycat",
      errors["flat patch, true colour"], "<", errors["copycat, grey"], fmt="{:.4f}", where="any")
claim("inside the hole the fill-ins vary less than half as much as the truth", variation, "<", 0.5, fmt="{:.2f}")

# %% [markdown]
# The trained fill-in's error is below the flat patch's: the shading it paints is not decoration, it is
# structure the encoder inferred from the context. But inside the hole it varies much less than the truth (the
# ratio above, of variances around the hole's mean colour; under half in the quick profile, about half in one gpu
# run on CIFAR-10): a blur, not a redrawing.
#
# ## 5. Try other masks on the trained model
# Move the sliders: the model was trained with one square hiding a quarter of the image. How does it cope with
# scattered pixels, the centre, or random patches?

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
# encoder of the same architecture and the supervised baseline (trained with every label, lesson 00). The
# inpainting encoder beats random init and stays below the supervised ceiling (both checked below).

# %%
from sslcourse.evaluate import evaluate_encoder
from sslcourse.plots import epochs_said, group_colours, plot_bars, results_table
from sslcourse.runs import baseline

results = {
    "random init": baseline("random", p, train, test, seed=SEED),
    "inpainting": evaluate_encoder(method.encoder, train, test),
    "supervised": baseline("supervised", p, train, test, seed=SEED),
}
print(results_table(results))
gain = results["inpainting"]["linear_probe_accuracy"] - results["random init"]["linear_probe_accuracy"]
print(f"\ninpainting vs random init: {100 * gain:+.1f} points of linear-probe accuracy")
claim("the inpainting encoder beats random init (linear probe)", gain, ">", 0, fmt="{:+.1%}")
claim("the inpainting encoder stays below the supervised ceiling", results["inpainting"]["linear_probe_accuracy"],
      "<", results["supervised"]["linear_probe_accuracy"], fmt="{:.1%}")
plot_bars(results, title="masked reconstruction vs the baselines")
plt.show()

# %% [markdown]
# ## 7. Which mask teaches the most?
# A short comparison you can extend: each mask trains a fresh encoder for `recipe["ablation_epochs"]` epoch(s) on
# half the data (so the numbers are lower than above), then the linear probe — beside a random-init encoder
# probed on the same half, the reference every mask must beat. `benchmarks/ablations.py` runs the full-budget
# version; its table is in `BENCHMARKS.md`.

# %%
from sslcourse.models import build_backbone

variants = {"pixels 50%": ("pixels", 0.5), "block 25%": ("block", 0.25), "centre 25%": ("center", 0.25),
            "patches 75%": ("patches", 0.75)}
half = train.subset(len(train) // 2, seed=SEED)
ablation = {"random init": evaluate_encoder(build_backbone(p.backbone, seed=SEED).to(p.device), half, test)}
filled = {}  # how well each model fills its own kind of hole: its structure error / a flat patch's
averaged = {}  # the same for a rule with no learning: each hidden pixel the mean of its visible 5×5 neighbours


def neighbour_average(images, mask, k=5):
    """Fill each hidden pixel with the mean of the visible pixels in the k×k window around it (the hole's true mean
    colour where none is visible): interpolation with no learning, on the images' device."""
    window = torch.ones(1, 1, k, k, device=images.device)
    n, c, h, w = images.shape
    total = torch.nn.functional.conv2d((images * mask).reshape(n * c, 1, h, w), window, padding=k // 2)
    count = torch.nn.functional.conv2d(mask, window, padding=k // 2).repeat_interleave(c, dim=0)
    mean = torch.where(count > 0, total / count.clamp(min=1), flat_patch(images, mask).reshape(n * c, 1, h, w))
    return mask * images + (1 - mask) * mean.reshape(n, c, h, w)

for name, (strategy, ratio) in variants.items():
    run_i = plan_run("inpainting", p, half, seed=SEED, strategy=strategy, mask_ratio=ratio,
                     epochs=recipe["ablation_epochs"])
    m_i = run_i.build()
    run_i.fit(m_i, half, progress=False)
    ablation[name] = evaluate_encoder(m_i.encoder, half, test)
    mk_i = make_mask(strategy, len(xs), 32, ratio, generator=torch.Generator("cpu").manual_seed(4), device=xs.device)
    with torch.no_grad():
        flat_error = masked_mse(flat_patch(xs, mk_i), xs, mk_i)
        filled[name] = (masked_mse(m_i.eval().fill_in(xs, mk_i, colour_from=xs), xs, mk_i) / flat_error).item()
        averaged[name] = (masked_mse(neighbour_average(xs, mk_i), xs, mk_i) / flat_error).item()
probe = {name: r["linear_probe_accuracy"] for name, r in ablation.items()}
for name, acc in probe.items():
    print(f"{name:<12} linear probe {acc:.1%}  ({100 * (acc - probe['random init']):+.1f} vs random init)"
          + (f"   hole error / flat patch's: {filled[name]:.2f}" if name in filled else ""))
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
recipe_colour = {"block 25%": encoder_colour("inpainting")}  # the lesson's recipe, in inpainting's colour
plot_bars(ablation, title=f"masks, {epochs_said(recipe['ablation_epochs'])} on half the data", ax=axes[0],
          colours=recipe_colour)
colours = group_colours(ablation, recipe_colour)  # each mask in the colour the left panel gives it
axes[1].bar(list(filled), list(filled.values()), color=[colours[name] for name in filled])
axes[1].scatter(list(averaged), list(averaged.values()), marker="_", s=600, color="black", zorder=3,
                label="5×5 average of the visible neighbours (no learning)")
axes[1].axhline(1, ls="--", color="gray", label="flat patch of the true colour")
axes[1].set(ylabel="hole error / flat patch's", title="how well each task is solved (lower: easier)")
axes[1].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), markerscale=0.5, handlelength=3)
plt.tight_layout()
plt.show()
print("hole error / flat patch's, a 5×5 average of the neighbours: "
      + ", ".join(f"{n} {v:.2f}" for n, v in averaged.items()))

# %% [markdown]
# The right panel says how hard each task is: the trained model's error inside its holes (the hole's mean colour
# lent, as in section 4) over that of a flat patch of the true colour — 1 means it learnt nothing about the hole.
# Scattered pixels and small patches score better against the flat patch than a square or the centre — even with
# three quarters of the 4×4 patches hidden, most hidden pixels have visible ones a few pixels away. Read the panel
# as how easy each task is *and* how far one epoch got: the black ticks are a fixed average of the visible
# neighbours, with no learning at all, and for scattered pixels it fills better still than this one-epoch model
# (checked below). (The masks also
# hide different shares: pixels 50 %, patches 75 %, the square and the centre 25 %.) Why the scattered masks can
# probe below random init (left panel) is a question this short run cannot settle; one candidate is that a task
# solved by local averaging pulls the features towards local filters that keep less of the *object*. Now compare
# the model with the average for the square and the centre (printed above): filling a region better than its border
# allows takes a model of what objects look like, and one epoch on half the data has barely begun one — in your
# run, is the model ahead of the average there, level with it, or behind?
#
# In the quick profile (`shapes`) the two masks that hide a *region* — the square and the centre —
# both probe above random init and above both scattered masks: the masks filled best teach least. Which of the two
# leads is not stable at one epoch on half the data — in the course's measured runs the centre led by 3 to 5 points
# with seed 0 and the square by half a point with seed 1 (fp32); your run's gap is printed below — so don't read a
# winner into it, nor an order of the two scattered masks. In the other profiles, read the bars (and the
# full-budget table in `BENCHMARKS.md`).

# %%
local, regional = ("pixels 50%", "patches 75%"), ("block 25%", "centre 25%")
print(f"centre − square, linear probe: {100 * (probe['centre 25%'] - probe['block 25%']):+.1f} points")
claim("the square and the centre mask both probe above random init",
      min(probe[n] for n in regional) - probe["random init"], ">", 0, fmt="{:+.1%}")
claim("scattered pixels and patches are filled better than a square or the centre (relative hole error)",
      min(filled[n] for n in regional) - max(filled[n] for n in local), ">", 0, fmt="{:+.2f}")
claim("the masks filled best teach least: pixels and patches probe below both the square and the centre",
      min(probe[n] for n in regional) - max(probe[n] for n in local), ">", 0, fmt="{:+.1%}")
claim("for scattered pixels, a 5×5 average with no learning fills better than the one-epoch model",
      averaged["pixels 50%"], "<", filled["pixels 50%"], fmt="{:.2f}")

# %% [markdown]
# ## What to try next
# * Train with `loss_on="all"` (the whole-image loss) and compare the probe accuracy — the copycat effect.
# * Set `target="pixels"` and look at the fill-ins and the probe: in BENCHMARKS.md's quick-profile ablation the
#   pixel target taught less than the structure target — the unpredictable colour dominates the loss.
# * Raise `mask_ratio` for the block; at which size does reconstruction stop teaching anything?
# * **Exercise 01** (`exercises/01_masking.ipynb`): write `random_block_mask`, `random_patch_mask`, `masked_mse` and the structure target this lesson trains with (`structure_mse`), then see which target rewards a good inpainter.
#
# **What failure looks like:** fill-ins that are a flat grey or brown smear (the model predicts the mean colour —
# with `target="pixels"` that is the optimum for random colours); a loss that drops fast while the probe accuracy
# stays at the random-init level (the loss rewards copying: check the mask and `loss_on`); a loss stuck at a
# floor (the output range cannot reach the targets).

# %%
from sslcourse.course import record_results

record_results("01_masked_reconstruction", results, profile=p.name, dataset=train.name)
