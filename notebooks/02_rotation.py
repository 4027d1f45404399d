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
# where it is ambiguous, train a rotation head on the shared backbone with `fit`, read its confusion matrix, fix
# four bugs of naive versions, and find which layer holds the best features.

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
import torch.nn.functional as F

from sslcourse import show_source
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
# Showing all four rotations of the same image in one batch matters: the only difference between the four is the
# rotation, so nothing else (colour, texture, class) can predict the label.
#
# `torch.rot90` moves pixels exactly — no interpolation, no blurred corners that would reveal the angle.

# %%
from sslcourse.pretext import rotate_batch

show_source(rotate_batch)
rotated, labels = rotate_batch(test.images[:4])
show_images(rotated, titles=[f"r={int(r)} ({90 * int(r)}°)" for r in labels], ncols=8, scale=1.1)
plt.show()

# %% [markdown]
# ## 2. Why the data needs an up-direction
# Rotation prediction only makes sense if images have a canonical "up". Natural photos do (sky, gravity, people
# standing); so does `shapes`: objects stand upright with a shadow below, and half the scenes have sky over
# ground. On the other half — wallpaper backgrounds — **only the object** says where up is: that is what forces
# the encoder to learn shapes rather than sky.
#
# Some images stay ambiguous: a small object seen edge-on, a symmetric mushroom cap turned 180° on a patterned
# wall. We will find the classes the trained model finds hardest below.

# %% [markdown]
# ## 3. Four bugs of naive versions
# **Rotating only the first four images.** A loop `for r in range(4): x[r] = rot90(x[r], r)` "rotates the batch"
# — four images out of the batch, each once. Count what the network would see:

# %%
x = test.images[:64].clone()
naive_labels = torch.zeros(64, dtype=torch.long, device=x.device)
for r in range(4):
    x[r] = torch.rot90(x[r], r, dims=(1, 2))
    naive_labels[r] = r
print("naive batch, label counts:", torch.bincount(naive_labels, minlength=4).tolist())
print("rotate_batch, label counts:", torch.bincount(rotate_batch(test.images[:64])[1], minlength=4).tolist())

# %% [markdown]
# 61 of 64 images are labelled 0°: a network that always answers "0°" is 95 % right and learns nothing.
#
# **Labels that do not line up.** `torch.cat` stacks the four rotated copies *block by block* (all images at 0°,
# then all at 90°, …), so the labels must be `arange(4).repeat_interleave(N)`. The look-alike `arange(4).repeat(N)`
# (0, 1, 2, 3, 0, 1, …) gives the right label counts and wrong labels:

# %%
n = 64
right, wrong = torch.arange(4).repeat_interleave(n), torch.arange(4).repeat(n)  # cpu: label patterns only
print(f"same counts: {torch.bincount(right).tolist() == torch.bincount(wrong).tolist()}; "
      f"labels that agree: {(right == wrong).float().mean():.0%} (chance: 25%)")

# %% [markdown]
# ## 4. Training the rotation head through `fit`
# The augmentation keeps "up" intact: random crops and horizontal flips only (a flip mirrors left and right, up
# stays up).

# %%
from sslcourse.runs import plan_run
from sslcourse.train import fit

run = plan_run("rotation", p, train, seed=SEED)
print(run)
method = run.build()
show_source(type(method).training_step)
history = fit(method, train, **run.fit_kwargs())  # a rerun loads it (lesson 06 too)
history.plot()
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
            ticklabels=["0°", "90°", "180°", "270°"], annotate=True)
plt.show()

# %%
classes = test.labels.cpu().repeat(4)
per_class = {c: (pred[classes == i] == rot_labels[classes == i]).float().mean().item()
             for i, c in enumerate(test.classes)}
for c, acc in sorted(per_class.items(), key=lambda kv: kv[1]):
    print(f"{c:<10} {acc:.1%}")
wrong = (pred != rot_labels).nonzero().view(-1)
wrong_idx = wrong[torch.randperm(len(wrong), generator=torch.Generator("cpu").manual_seed(0))[:16]]
show_images(rot_test[wrong_idx], ncols=8, scale=1.1,
            titles=[f"{90 * int(rot_labels[i])}° → {90 * int(pred[i])}°" for i in wrong_idx])
plt.show()

# %% [markdown]
# Look at the mistakes: they are mostly wallpaper scenes, where only the object says which way is up — and
# thin or small objects (lamp posts, chairs, a tree seen from afar) say it least clearly. On outdoor scenes the
# horizon makes the task nearly free, which is why half the dataset has no horizon.
#
# **Random-angle rotation augmentation destroys the task.** A common "augmentation" turns images by a random angle.
# Here is what the trained model perceives in test images turned by a random angle in [−180°, 180°) and labelled 0°:

# %%
angles = (torch.rand(2000, generator=torch.Generator("cpu").manual_seed(0)) * 2 - 1) * torch.pi  # cpu: rotated there
cos, sin = torch.cos(angles), torch.sin(angles)
theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(cos)], 1),
                     torch.stack([sin, cos, torch.zeros_like(cos)], 1)], 1)
grid = F.affine_grid(theta, (2000, 3, 32, 32), align_corners=False)
turned = F.grid_sample(test.images.float().cpu() / 255, grid, align_corners=False, padding_mode="border")
with torch.no_grad():
    seen = method.head(extract_features(method.encoder, turned.to(p.device))).argmax(1).cpu()
print(f"labelled 0° but seen as rotated: {(seen != 0).float().mean():.0%} of the images")
show_images(turned[:8], titles=[f"{a:.0f}° → sees {90 * int(s)}°" for a, s in zip(angles[:8] * 57.3, seen[:8])],
            ncols=8, scale=1.1)
plt.show()

# %% [markdown]
# With such an augmentation most "0°" labels contradict what the image shows, and the task turns into noise.
#
# ## 6. What did the encoder learn?
# **A backbone whose classifier layer is left in place.** The features we evaluate are the encoder's output, *before*
# the rotation head. Evaluating the head's four logits instead measures rotation, not objects:

# %%
from sslcourse.evaluate import evaluate_encoder, linear_probe
from sslcourse.plots import plot_bars, results_table
from sslcourse.runs import baseline

logits_train = method.head(extract_features(method.encoder, train.images))
logits_test = method.head(extract_features(method.encoder, test.images))
print(f"linear probe on the head's 4 logits: {linear_probe(logits_train.detach(), train.labels, logits_test.detach(), test.labels):.1%}")

results = {
    "random init": baseline("random", p, train, test, seed=SEED),
    "rotation": evaluate_encoder(method.encoder, train, test),
    "supervised": baseline("supervised", p, train, test, seed=SEED),
}
print(results_table(results))
gain = results["rotation"]["linear_probe_accuracy"] - results["random init"]["linear_probe_accuracy"]
print(f"\nrotation vs random init: {100 * gain:+.1f} points of linear-probe accuracy")
plot_bars(results, title="rotation prediction vs the baselines")
plt.show()

# %% [markdown]
# ## 7. Which layer holds the best features?
# RotNet's finding: the *middle* layers transfer best — the last ones specialise in the pretext task. Probe each
# stage's pooled output (on half the training set, to save time) for the rotation encoder and a random one:

# %%
from sslcourse.models import build_backbone

half = train.subset(len(train) // 2, seed=SEED)
random_encoder = build_backbone(p.backbone, seed=SEED).to(p.device)
stages = range(1, len(method.encoder.stages))
layer_acc = {name: [evaluate_encoder(enc, half, test, stage=k)["linear_probe_accuracy"] for k in stages]
             for name, enc in [("rotation", method.encoder), ("random init", random_encoder)]}
for name, accs in layer_acc.items():
    plt.plot(list(stages), [100 * a for a in accs], "o-", label=name)
plt.xticks(list(stages), [f"stage {k}\n{method.encoder.stage_dims[k]} ch" for k in stages])
plt.ylabel("linear probe (%)")
plt.legend()
plt.title("features by depth")
plt.show()

# %% [markdown]
# With our four-stage ConvNet the last stage is also the widest, so the middle layers' advantage is smaller than
# in the paper's deeper networks — look at how much the rotation encoder's curve rises *above* the random one at
# each stage, and where the gap is largest.
#
# ## What to try next
# * `plan_run("rotation", p, train, min_scale=1.0)`: no crops — does the encoder lean more on the horizon?
# * Train on outdoor scenes only (brightness says where the sky is) and compare the probe accuracy.
# * **Exercise 02** (`exercises/02_rotation.ipynb`): write `rotate_batch` and check it.
#
# **What failure looks like:** rotation accuracy at 100 % after a few hundred steps while the probe stays at the
# random-init level (a shortcut solved the task: a background cue, interpolation artefacts in the corners); or
# 25 % for ever (labels that do not line up with the images).

# %%
from sslcourse.course import record_results

record_results("02_rotation", results, profile=p.name, dataset=train.name)
