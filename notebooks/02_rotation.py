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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/notebooks/02_rotation.ipynb)
#
# # 02 — Rotation prediction (RotNet)
#
# Turn an image by 0°, 90°, 180° or 270° and ask the network which. It sounds too easy to teach anything — but
# to say that a house is upside down you must know what a house looks like the right way up
# (Gidaris, Singh & Komodakis 2018).
#
# You will: build batches in all four rotations with aligned labels, see why the task needs an up-direction and
# where it is ambiguous, reproduce and fix the bugs of a first draft of this code, train a rotation head on the
# shared backbone with `fit`, read its confusion matrix, and probe which layer holds the best features.

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
import torch.nn.functional as F

from sslcourse.claims import claim
from sslcourse.config import lesson_setup
from sslcourse.data import load_profile_data
from sslcourse.plots import show_images

p = lesson_setup(PROFILE, seed=SEED)
train, test = load_profile_data(p)

# %% [markdown]
# ## 1. The task and its loss
#
# Let $\mathrm{rot}_r$ turn an image by $r \cdot 90°$ counter-clockwise, $r \in \{0, 1, 2, 3\}$. A classifier
# $p_\theta(r \mid \cdot)$ — the encoder plus a linear head with four outputs — sees every image of the batch in
# **all four** rotations and minimises
# $$L(\theta) = -\frac{1}{4N}\sum_{i=1}^{N}\sum_{r=0}^{3} \log p_\theta\big(r \mid \mathrm{rot}_r(x_i)\big).$$
# Why all four rotations of every image, in the same batch? Not to keep the content from predicting the label: one
# rotation per image, drawn at random, would already make the label independent of colour, texture and class. What
# the four copies buy is practical: every batch holds the four labels in equal numbers, each image loaded teaches
# four comparisons of the *same* content at four angles, and Gidaris et al. (2018) found that RotNet trains better
# that way than with one random rotation per image.
#
# `torch.rot90` moves pixels exactly — no interpolation, no blurred corners that would reveal the angle.
#
# `rotate_batch` (you write it in exercise 02; the lesson uses the course's version until then) turns a batch of $N$
# images into $4N$ with their labels, in **blocks**: the first $N$ outputs are the batch at 0°, the next $N$ at 90°,
# and so on. What it returns, for four images:

# %%
from sslcourse.pretext import rotate_batch

rotated, labels = rotate_batch(test.images[:4])
print("images", tuple(test.images[:4].shape), "->", tuple(rotated.shape), "; labels", labels.tolist())
claim("block 1 holds the N images turned by 90°, exactly",
      all(torch.equal(rotated[4 + i], torch.rot90(image, 1, dims=(1, 2))) for i, image in enumerate(test.images[:4])),
      where="always")  # image by image: (C, H, W), turned in its (H, W) plane
show_images(rotated, titles=[f"r={int(r)} ({90 * int(r)}°)" for r in labels], ncols=8, scale=1.1)
plt.show()

# %% [markdown]
# ## 2. Why the data needs an up-direction
# Rotation prediction only makes sense if images have a canonical "up". Natural photos do (sky, gravity, people
# standing); so does `shapes`: objects stand upright with a shadow below, and half the scenes have sky over
# ground. On the other half — wallpaper backgrounds — **only the object** says where up is: that is what forces
# the encoder to learn shapes rather than sky.
#
# Some images stay ambiguous: a small or thin object on a patterned wall says little about which way is up.
# Section 5 ranks the classes by how well the trained model reads their rotation.

# %% [markdown]
# ## 3. The bugs of a first draft
# Here is a typical first attempt at a RotNet script. Each of its
# bugs below is reproduced as the draft had it: what happens, why, and the fix.
#
# **Four images and 4N labels.** The draft rotated `x[r]` — the $r$-th *image* — once for each $r$, but labelled
# every image of the batch four times:
# ```python
# rotated = torch.stack([torch.rot90(x[r], r, dims=(1, 2)) for r in range(4)])   # x[r]: one image, not the batch
# labels = ...                                                                    # 4N labels, four per image
# loss = F.cross_entropy(model(rotated), labels)
# ```

# %%
x = test.images[:64]
draft_rotated = torch.stack([torch.rot90(x[r], r, dims=(1, 2)) for r in range(4)])
draft_labels = rotate_batch(x)[1]  # 4N labels, four per image (the draft's were right)
logits = torch.zeros(len(draft_rotated), 4, device=x.device)  # any model's output: one row per input image
try:
    F.cross_entropy(logits, draft_labels)
except ValueError as err:
    print(f"{tuple(draft_rotated.shape)} images, {tuple(draft_labels.shape)} labels -> ValueError: {err}")

# %% [markdown]
# The model returns one row of logits per image it was given — four — and the loss has $4N$ = 256 labels
# ($N$ = 64) to match them with. **Fix:** $4N$ images for $4N$ labels — every image of the batch in each of the four
# rotations, which is what `rotate_batch` returns (you write it in exercise 02).
#
# **The silent variant: rotating four images in place.** Fix the crash the quick way — `x[r] = rot90(x[r], r)`
# in place, labels `r` for those four and 0 for the rest — and nothing fails any more. Count what the network
# would see:

# %%
x = test.images[:64].clone()
naive_labels = torch.zeros(len(x), dtype=torch.long, device=x.device)
for r in range(4):
    x[r] = torch.rot90(x[r], r, dims=(1, 2))
    naive_labels[r] = r
counts = torch.bincount(naive_labels, minlength=4)
print("in place, label counts:", counts.tolist())
print("rotate_batch, label counts:", torch.bincount(rotate_batch(test.images[:64])[1], minlength=4).tolist())
claim(f"{len(x) - 3} of the {len(x)} images are labelled 0°", int(counts[0]) == len(x) - 3, got=str(int(counts[0])),
      where="always")

# %% [markdown]
# All but three of the 64 images are labelled 0° (61 of 64): a network that always answers "0°" is 95 % right and
# learns nothing.
#
# **Labels that do not line up.** The rotated copies come *block by block* (all images at 0°, then all at 90°, …),
# and the labels must follow the blocks. The look-alike `arange(4).repeat(N)` (0, 1, 2, 3, 0, 1, …) gives the right
# label counts and the wrong labels — compared here with `rotate_batch`'s:

# %%
right = rotate_batch(test.images[:64])[1].cpu()  # cpu: label patterns only
n = len(right) // 4
wrong = torch.arange(4).repeat(n)  # cpu: compared with `right`, moved to the CPU above
agree = (right == wrong).float().mean().item()
print(f"same counts: {torch.bincount(right).tolist() == torch.bincount(wrong).tolist()}; "
      f"labels that agree: {agree:.0%} (chance: 25%)")
claim("the look-alike has the right label counts", torch.equal(torch.bincount(right), torch.bincount(wrong)),
      where="always")
claim("the look-alike's labels agree with the right ones only at chance level (25 %)", abs(agree - 0.25), "<", 0.01,
      got=f"{agree:.1%}", where="always")

# %% [markdown]
# **`torchvision` used but never imported.** The draft built its network with `torchvision.models.resnet18`
# and never wrote `import torchvision`. Python looks a name up only when the line runs, so nothing complains
# before that line — and in a notebook, any earlier cell that happened to import it hides the bug. Run in a
# fresh namespace, as a fresh script runs it:

# %%
draft = "model = torchvision.models.resnet18(num_classes=4)"
try:
    exec(draft, {})  # a fresh namespace: nothing imported yet
except NameError as err:
    print(f"{draft!r} -> NameError: {err}")

import torchvision  # the fix: import what you use, at the top of the file

rotnet = torchvision.models.resnet18(num_classes=4)
print("with the import:", type(rotnet).__name__, "with a", rotnet.fc, "head")

# %% [markdown]
# **Loading the rotation network's weights into a classifier whose head changed size.** The draft saved the whole
# RotNet (`fc` with 4 outputs) and loaded it into a 10-class classifier for evaluation:

# %%
classifier = torchvision.models.resnet18(num_classes=10)
try:
    classifier.load_state_dict(rotnet.state_dict())
except RuntimeError as err:
    print("RuntimeError:", str(err).strip())

# %% [markdown]
# The backbone's weights fit, but `fc` is 4×512 in the checkpoint and 10×512 in the new model, and
# `load_state_dict` refuses the whole file. **Fix:** keep only the backbone's weights — the rotation head is the
# part we throw away — and check that exactly the head is left to train. (`strict=False` alone does not help: a
# size mismatch still raises. Once the head's keys are dropped, `strict=False` would also let a renamed layer pass
# silently — so the next cell checks `missing` and `unexpected`.) The course keeps them apart from the start: a method
# has an `encoder` and a `head`, and only the encoder is evaluated.

# %%
backbone = {k: v for k, v in rotnet.state_dict().items() if not k.startswith("fc.")}
missing, unexpected = classifier.load_state_dict(backbone, strict=False)
print("left to train:", missing, "; unexpected:", unexpected)
claim("only the new head is left to train", missing == ["fc.weight", "fc.bias"] and not unexpected,
      got=f"missing {missing}, unexpected {unexpected}", where="always")

# %% [markdown]
# ## 4. Training the rotation head through `fit`
# The augmentation keeps "up" intact: random crops and horizontal flips only (a flip mirrors left and right, up
# stays up).

# %%
from sslcourse import show_source
from sslcourse.plots import encoder_colour
from sslcourse.runs import plan_run
from sslcourse.train import fit

run = plan_run("rotation", p, train, seed=SEED)
print(run)
method = run.build()
show_source(type(method).training_step)
history = fit(method, train, **run.fit_kwargs())  # a rerun loads it (lesson 08 too)
history.plot(colour=encoder_colour("rotation"))  # rotation's colour in every figure of the course
plt.show()

# %% [markdown]
# ## 5. What the rotation classifier gets right and wrong
# Rotate the whole test set four ways, predict, and count: the confusion matrix, the accuracy per object class,
# and some images it got wrong.

# %%
from sslcourse.evaluate import extract_features

rot_test, rot_labels = rotate_batch(test.images)
with torch.no_grad():
    pred = method.head(extract_features(method.encoder, rot_test)).argmax(1).cpu()
rot_labels = rot_labels.cpu()
confusion = torch.bincount(rot_labels * 4 + pred, minlength=16).view(4, 4)
print(f"rotation accuracy on the test set: {(pred == rot_labels).float().mean():.1%}")

from sslcourse.plots import plot_matrix

plot_matrix(confusion, "rotation confusion (rows: true, columns: predicted)", "predicted", "true",
            ticklabels=["0°", "90°", "180°", "270°"], annotate=True, colour_label="test images")
plt.show()

# %%
classes = test.labels.cpu().repeat(4)
per_class = {c: (pred[classes == i] == rot_labels[classes == i]).float().mean().item()
             for i, c in enumerate(test.classes)}
ranked = sorted(per_class, key=per_class.get)  # hardest first
for c in ranked:
    print(f"{c:<10} {per_class[c]:.1%}")
print(f"hardest class in this run: {ranked[0]}; easiest: {ranked[-1]}")
wrong = (pred != rot_labels).nonzero().view(-1)
wrong_idx = wrong[torch.randperm(len(wrong), generator=torch.Generator("cpu").manual_seed(0))[:16]]
show_images(rot_test[wrong_idx], ncols=8, scale=1.1,
            titles=[f"{90 * int(rot_labels[i])}° → {90 * int(pred[i])}°" for i in wrong_idx])
plt.suptitle("rotations the model got wrong: true → predicted", y=1.02)
plt.show()

# %% [markdown]
# Read the confusion matrix row by row first: are a turn's errors spread over the three wrong turns, or does one
# turn go mostly to its opposite (0° read as 180°: the image taken for upside down)? Which classes are hardest is
# printed above, from this run — it changes with the data, the recipe and the seed.
# Look at the mistakes and ask what they have in common: a background with no horizon (on `shapes`, the
# wallpaper scenes, where only the object and its shadow say which way is up), a small object, an object that
# looks much the same upside down?
#
# **Random-angle rotation augmentation would wreck the task.** A common "augmentation" turns images by a random angle.
# Here is what the trained model perceives in test images turned by a random angle in [−180°, 180°) and labelled 0°:

# %%
originals = test.images[:2000].float().cpu() / 255  # (n, 3, 32, 32): 2,000 test images, or all if fewer
angles = (torch.rand(len(originals), generator=torch.Generator("cpu").manual_seed(0)) * 2 - 1) * torch.pi  # cpu: turned there
cos, sin = torch.cos(angles), torch.sin(angles)
theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(cos)], 1),
                     torch.stack([sin, cos, torch.zeros_like(cos)], 1)], 1)
grid = F.affine_grid(theta, tuple(originals.shape), align_corners=False)
turned = F.grid_sample(originals, grid, align_corners=False, padding_mode="border")
with torch.no_grad():
    seen = method.head(extract_features(method.encoder, turned.to(p.device))).argmax(1).cpu()
seen_rotated = (seen != 0).float().mean().item()
nearest = torch.round(angles * 2 / torch.pi).long() % 4  # the quarter turn nearest each image's angle
agree = (seen == nearest).float().mean().item()
print(f"labelled 0° but seen as rotated: {seen_rotated:.0%} of the images; the model names the quarter turn nearest "
      f"the true angle for {agree:.0%} of them (by chance: 25 %)")
claim("the model names the quarter turn nearest a random angle for most images (chance: 25 %)", agree, ">", 0.5,
      fmt="{:.0%}")
show_images(turned[:8], titles=[f"turned {a:.0f}°\nsees {90 * int(s)}°" for a, s in zip(angles[:8] * 57.3, seen[:8])],
            ncols=8, scale=1.1)
plt.show()

# %% [markdown]
# The trained model reads the turn: for most images it names the quarter turn nearest the true angle (checked
# above, against 25 % by chance), so it sees about three in four of them as turned by 90°, 180° or 270°. With such
# an augmentation most "0°" labels would contradict what the image shows, and the task would turn into noise.
#
# ## 6. What did the encoder learn?
# **A backbone whose classifier layer is left in place.** The features we evaluate are the encoder's output, *before*
# the rotation head. Evaluating the head's four logits instead measures rotation, not objects. To see that fairly,
# compare them with four other numbers — any four numbers hold less than the encoder's whole feature vector — so we
# also probe the encoder's features cut down to their 4 principal components
# (the 4 directions in which the training images' features vary most). Then the encoder against random init:

# %%
from sslcourse.evaluate import evaluate_encoder, linear_probe
from sslcourse.plots import plot_bars, results_table
from sslcourse.runs import baseline

features_train = extract_features(method.encoder, train.images)
features_test = extract_features(method.encoder, test.images)
with torch.no_grad():
    logits_train, logits_test = method.head(features_train), method.head(features_test)
on_logits = linear_probe(logits_train, train.labels, logits_test, test.labels)
centre = features_train.mean(0)
_, _, directions = torch.linalg.svd((features_train - centre).float(), full_matrices=False)
top4 = directions[:4].T  # (D, 4): the top 4 principal directions, on the features' device
on_top4 = linear_probe((features_train - centre) @ top4, train.labels, (features_test - centre) @ top4, test.labels)
print(f"linear probe on the head's 4 logits: {on_logits:.1%}")
print(f"linear probe on the encoder's top 4 principal components: {on_top4:.1%}")

results = {
    "random init": baseline("random", p, train, test, seed=SEED),
    "rotation": evaluate_encoder(method.encoder, train, test),
    "supervised": baseline("supervised", p, train, test, seed=SEED),
}
print(results_table(results))
gain = results["rotation"]["linear_probe_accuracy"] - results["random init"]["linear_probe_accuracy"]
print(f"\nrotation vs random init: {100 * gain:+.1f} points of linear-probe accuracy")
claim("the head's 4 logits probe at least 10 points below the encoder's features",
      results["rotation"]["linear_probe_accuracy"] - on_logits, ">=", 0.10, fmt="{:+.1%}")
claim("and below 4 principal components of those features", on_top4 - on_logits, ">", 0, fmt="{:+.1%}")
claim("the rotation encoder beats random init (linear probe)", gain, ">", 0, fmt="{:+.1%}")
plot_bars(results, title="rotation prediction vs the baselines")
plt.show()

# %% [markdown]
# Read the three probes together. Most of the distance between the logits and the whole features is the cut to
# four numbers: the top 4 principal components probe far below the whole features too. The head's logits sit below
# even those — it was trained to keep the turn and drop the rest — so the features worth evaluating are the
# encoder's, before the head.

# %% [markdown]
# ## 7. Which layer holds the best features?
# RotNet's finding, on its deeper networks: the *middle* blocks transfer best — the last ones specialise in the
# pretext task. Does that hold for our encoder? Probe each stage's pooled output (on half the training set, to
# save time) for the rotation encoder and a random one: `probe_by_stage` runs the protocol's linear probe on the
# features after stage k, `evaluate_encoder(encoder, half, test, stage=k)`, for every stage after the first.

# %%
from sslcourse.evaluate import probe_by_stage
from sslcourse.models import build_backbone
from sslcourse.plots import plot_by_stage

half = train.subset(len(train) // 2, seed=SEED)
random_encoder = build_backbone(p.backbone, seed=SEED).to(p.device)
stages = range(1, len(method.encoder.stages))
layer_acc = probe_by_stage({"rotation": method.encoder, "random init": random_encoder}, half, test, stages)
plot_by_stage(layer_acc, method.encoder)
plt.show()
best = max(stages, key=lambda k: layer_acc["rotation"][k - 1])
print(f"best stage for the rotation encoder: {best} of {list(stages)}")
print("rotation - random init, by stage:",
      ", ".join(f"stage {k} {100 * (a - b):+.1f}" for k, a, b in zip(stages, *layer_acc.values())))
claim("rotation beats random init at every stage", min(a - b for a, b in zip(*layer_acc.values())), ">", 0,
      fmt="{:+.1%}")
claim("the last stage is best in the quick profile", best == stages[-1], got=f"stage {best}")

# %% [markdown]
# The rotation encoder beats the random one at every stage probed. In the quick profile, though, the paper's
# finding does **not** carry over: the accuracy rises all the way to the last stage (checked above). Possible
# reasons, each one testable: our small ConvNet is shallow; its last stage is also its widest (the channel counts
# on the axis); and a short run leaves the last stage little time to specialise in rotations, where the paper's
# networks trained for far longer — try `plan_run("rotation", p, train, epochs=20)` and see whether the last
# stage's lead shrinks.
#
# ## What to try next
# * `plan_run("rotation", p, train, min_scale=1.0)`: no crops — does the encoder lean more on the horizon?
# * Train on outdoor scenes only (brightness says where the sky is) and compare the probe accuracy.
# * **Exercise 02** (`exercises/02_rotation.ipynb`): write `rotate_batch`, then read which way is up from all four views at once (`orientation_log_probs`) and measure whether the vote is worth it.
#
# **What failure looks like:** rotation accuracy at 100 % after a few hundred steps while the probe stays at the
# random-init level (a shortcut solved the task: a background cue, interpolation artefacts in the corners); or
# 25 % for ever (labels that do not line up with the images).

# %%
from sslcourse.course import record_results

record_results("02_rotation", results, profile=p.name, dataset=train.name)
