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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/notebooks/00_introduction.ipynb)
#
# # 00 — Introduction: learning from images without labels
#
# In this lesson you will
#
# 1. see why **self-supervised learning** (SSL) works: labels are expensive, structure is free;
# 2. meet the data of the course — the embedded `shapes` scenes and CIFAR-10;
# 3. play with the **augmentations** every method uses;
# 4. learn the **evaluation protocol** every lesson measures with (frozen features, kNN, linear probe);
# 5. measure the two **baselines** — an encoder at random init and one trained with labels — whose gap every later
#    lesson tries to close.

# %% [markdown]
# ## Setup
# On Colab this installs the course package; everywhere it prints the profile (what data, which
# network, which device) so that you always know what you are running.

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

import sslcourse
from sslcourse.config import lesson_setup

p = lesson_setup(PROFILE, seed=SEED)

# %% [markdown]
# ## 1. Why self-supervision?
#
# A labelled image costs a human's attention; an unlabelled one costs nothing. ImageNet's 1.3 million
# labels took years of crowd work, while cameras produce billions of images a day. Supervised training
# uses one number per image (its class) as the whole learning signal.
#
# **Self-supervised learning** invents the labels from the images themselves. We hide or transform part of an
# image and ask a network to undo it — a *pretext task*. To solve it, the network has to understand what is
# in the picture: where the sky is, what an object's outline looks like, which parts belong together.
# The network's body — the **encoder** $f_\theta$ — then gives **features** $f_\theta(x)$ that a tiny classifier
# can use with very few labels.
#
# | lesson | pretext task | the label we invent | what the network must understand |
# | --- | --- | --- | --- |
# | 00 (this one) | none yet: a supervised network and the yardstick | the class, from a human | what labels teach, and the protocol (kNN, linear probe) every lesson measures with |
# | 01 | masked reconstruction | the hidden pixels | shapes continue behind the mask, textures, context |
# | 02 | rotation prediction | which of 0°, 90°, 180°, 270° | which way is up: sky, ground, upright objects |
# | 03 | jigsaw puzzles | the permutation of 9 tiles | how parts of an object fit together |
# | 04 | contrastive (SimCLR) | which two views come from the same image | what stays the same under crops and colour changes |
# | 05 | GANs | real or generated | what real images look like |
# | 06 | momentum encoders (MoCo, BYOL) | which two views come from the same image, without (BYOL) or with a queue of negatives (MoCo) | the same, and how a network avoids mapping everything to one point |
# | 07 | masked autoencoders (MAE) on a Vision Transformer | the hidden three quarters of the patches | how an image continues, from a quarter of its patches; and why a frozen probe can undersell an encoder |
# | 08 | all of them | — | which pretext task taught the most, and what to do with the features |

# %% [markdown]
# ## 2. The data
#
# The quick profile trains on **`shapes`**: ten kinds of objects standing in little scenes, generated
# on your machine in a few seconds — no download. Each image is `uint8`, 3×32×32, like CIFAR-10.
# With a GPU, the `gpu` profile (and the longer `full` one) uses CIFAR-10 itself; the code does not change. The
# rest of this section describes `shapes`; in the gpu profile the same checks run on CIFAR-10's photos, and their
# numbers show where the two differ.

# %%
from sslcourse.data import load_profile_data

train, test = load_profile_data(p)
print(train)
print(test)
print("classes:", train.classes)

# %%
from sslcourse.plots import show_dataset

show_dataset(train, per_class=10)
plt.show()

# %% [markdown]
# Every scene is drawn by a small program (`sslcourse/data/shapes.py`): either a horizon at a random height
# with hills, a sky gradient, maybe a sun and clouds, textured ground with rocks — or a patterned wallpaper
# with blobs; then the object, with a random size, position, tilt, facing, and **an independent random colour
# for every part**; a shadow; pixel noise.
#
# Two properties make it a fair test of what a network learns. First, **colour says nothing about the class.**
# Let us check that rather than believe it: a linear classifier on per-image colour statistics.

# %%
from sslcourse.evaluate import linear_probe


def colour_statistics(images):
    x = images.float() / 255
    return torch.cat([x.mean((2, 3)), x.std((2, 3))], 1)  # (N, 6): mean and spread per channel


acc = linear_probe(colour_statistics(train.images), train.labels, colour_statistics(test.images), test.labels)
chance = 1 / len(train.classes)
print(f"class from colour statistics: {acc:.1%} accuracy (chance: {chance:.0%})")

# %% [markdown]
# On `shapes` this is barely above chance: whatever a network learns about its classes, it cannot have learnt it
# from colour. On CIFAR-10, which the gpu profile runs this lesson on, it is not so: a blue background says "ship"
# or "plane", and one run there classified 18 points above chance from these six numbers. That is why the check
# is made on the data.

# %%
from sslcourse.claims import claim

claim("on shapes, colour statistics classify within 10 points of chance", acc - chance, "<", 0.10,
      fmt="{:+.1%}")

# %% [markdown]
# Second, **the scenes have an up-direction**: objects stand upright with a shadow below them; half the scenes
# have sky above and ground below, the other half a wallpaper with no horizon. Rotation prediction (lesson 02)
# relies on it. In what fraction of images is the top brighter than the bottom? (Expect the sky to do most of
# it; in a wallpaper scene, only the object tells which way is up.)

# %%
luma = train.images.float().mean(1)  # (N, 32, 32)
top_brighter = (luma[:, :8].mean((1, 2)) > luma[:, -8:].mean((1, 2))).float().mean()
print(f"top rows brighter than bottom rows in {top_brighter:.1%} of the images")
claim("the top of a shapes scene is brighter than its bottom in most images", top_brighter, ">", 0.5,
      fmt="{:.0%}")

from sslcourse.plots import show_images
from sslcourse.pretext import rotate_batch  # lesson 02's pretext task: every image in its four quarter turns

contrast = luma[:, :8].mean((1, 2)) - luma[:, -8:].mean((1, 2))  # top minus bottom brightness, per image
row = train.images[contrast[:500].topk(4).indices.to(train.images.device)]  # of the first 500, the clearest up-down
show_images(rotate_batch(row)[0], ncols=8, scale=1.1,
            titles=[f"{90 * k}°" for k in range(4) for _ in range(4)])
plt.show()

# %% [markdown]
# ### CIFAR-10
# The GPU profiles use CIFAR-10: 50,000 training and 10,000 test photos in 10 classes, 32×32. The quick
# profile never downloads anything; if the files are already on disk (`SSLCOURSE_ROOT`, or the cache after a
# GPU run), they are shown here, otherwise you are told where to get them.

# %%
from sslcourse.data import load_dataset
from sslcourse.data.real import DatasetNotFoundError

try:
    cifar = load_dataset("cifar10", "test", download=p.name != "quick")
    show_dataset(cifar, per_class=10)
    plt.show()
except DatasetNotFoundError as err:
    print("CIFAR-10 is not on this machine (fine for the quick profile):\n" + str(err))

# %% [markdown]
# ## 3. Augmentations
#
# Several methods (SimCLR above all) compare two randomly **augmented views** of one image: a random crop
# resized back to 32×32, a horizontal flip, colour jitter (brightness, contrast, saturation, hue),
# sometimes grayscale. `sslcourse.augment` applies them to a **whole batch at once**, with a different
# random draw for every image — several times faster than one Python call per image (`BENCHMARKS.md`). Below, the
# most colourful of the first 64 training images (so that the colour jitter shows: CIFAR-10 has grey planes) as it
# is, then 15 random views of it.

# %%
from sslcourse.augment import SimCLRAugment

augment = SimCLRAugment()  # crop scale 0.2–1, colour strength 0.5 (SimCLR's CIFAR recipe)
print(augment)
pixels = train.images[:64].float()
colourfulness = (pixels.amax(1) - pixels.amin(1)).mean((1, 2))  # mean saturation: max − min over R, G, B
one = train.images[colourfulness.argmax()][None].expand(15, -1, -1, -1)  # the most colourful image 15 times ...
views = augment(one)  # ... 15 different views, beside the image itself
show_images([one[0], *views], titles=["original"] + [f"view {i}" for i in range(1, 16)], ncols=8, scale=1.1)
plt.show()

# %% [markdown]
# Move the sliders (in JupyterLab or Colab) to see what each strength does. Too weak, and two views are nearly
# identical — nothing to learn; too strong, and they share nothing — nothing learnable. The static figure below
# the explorer shows a few colour strengths side by side.

# %%
from sslcourse.widgets import augmentation_explorer, augmentation_strength_grid

augmentation_explorer(train.images[10:18])

# %%
augmentation_strength_grid(train.images[10:18], strengths=(0.0, 0.5, 1.0, 1.5))
plt.show()

# %% [markdown]
# ## 4. The evaluation protocol
#
# How good is an encoder $f_\theta$? We **freeze** it, compute features $z = f_\theta(x)$ for every
# labelled training and test image, and ask how well the classes can be read off them — two ways:
#
# **Weighted k-nearest neighbours** (Wu et al. 2018). For a test image with feature $z$, take the $k = 20$
# training features $z_i$ most similar by cosine similarity $s_i = \frac{z^\top z_i}{\|z\|\,\|z_i\|}$, and let each vote
# for its class with weight $e^{s_i/\tau}$ ($\tau = 0.07$):
# $$\hat y = \arg\max_c \sum_{i \in N_k(z)} e^{s_i/\tau}\,[y_i = c].$$
# No training at all: it measures whether similar images get similar features. (The protocol also records
# $k = 200$; the kNN accuracy the lessons quote is $k = 20$'s.)
#
# **Linear probe.** Standardise the features and fit a multinomial logistic regression
# $p(y\mid z) = \operatorname{softmax}(Wz+b)$ on the training split (full batch, L-BFGS, a small L2 penalty);
# report test accuracy. It measures whether the classes are *linearly* separable in feature space.
#
# First, an encoder that has learnt nothing: random weights.

# %%
from sslcourse.evaluate import evaluate_encoder
from sslcourse.models import build_backbone

encoder = build_backbone(p.backbone, seed=SEED).to(p.device)
print(f"{p.backbone}: {sum(t.numel() for t in encoder.parameters()):,} parameters, "
      f"feature_dim = {encoder.feature_dim}")
random_init = evaluate_encoder(encoder, train, test)
print(f"random init: kNN {random_init['knn_accuracy']:.1%}, linear probe {random_init['linear_probe_accuracy']:.1%}")

# %% [markdown]
# Random convolutional features are far from useless: on `shapes`, a linear probe already reads the class off them
# far better than chance (by about 25 to 30 points in the quick profile's runs, seeds 0–2; this run's margin is
# printed). That is the baseline every method must beat.

# %%
claim("a linear probe on random-init features beats chance by at least 15 points",
      random_init["linear_probe_accuracy"] - chance, ">=", 0.15, fmt="{:+.1%}")

# %% [markdown]
# ## 5. The supervised baseline, trained with `fit`
#
# The other end of the scale: the same network trained **with all the labels** (cross-entropy, crop + flip
# augmentation). Every method of the course trains through the same loop, `sslcourse.train.fit`:
# shuffled batches already on the device, one optimiser step per batch, a cosine learning-rate schedule with
# warm-up, a progress bar, mixed precision where the hardware has it, and checkpoints it resumes from.

# %% [markdown]
# A **run** is a method, its recipe, a seed — and the data it trains on. `plan_run` writes it down: the recipe of
# the profile, a fingerprint of the training images (a hash of every pixel and label), and the checkpoint file,
# whose name holds a hash of all of that. Train again on the same data and the checkpoint is loaded; train on
# other images and a new one is made — a model is never reused for data it did not see.

# %%
from sslcourse.runs import plan_run
from sslcourse.train import fit

run = plan_run("supervised", p, train, seed=SEED)
print(run)
method = run.build()
history = fit(method, train, **run.fit_kwargs())

# %%
from sslcourse.plots import encoder_colour

history.plot(colour=encoder_colour("supervised"))  # the supervised encoder's colour in every figure
plt.show()
supervised = evaluate_encoder(method.encoder, train, test)
print(f"supervised: kNN {supervised['knn_accuracy']:.1%}, linear probe {supervised['linear_probe_accuracy']:.1%}")

# %% [markdown]
# ## 6. The gap
# Here are both encoders side by side. Lessons 01–04 and 06 train this *same* network *without labels*, and most
# of their encoders land between these two bars — how close one gets to the supervised bar is the measure of what
# its pretext task taught. Not every run: a pretext task can teach features a kNN or a probe reads *worse* than
# random filters. In the quick profile lesson 04 provokes one with crops alone, and lesson 01's scattered masks can
# end below random init too; on CIFAR-10, in a gpu-profile run, it was jigsaw (`BENCHMARKS.md`). Lessons 05 and 07
# train networks of their own (the GAN's discriminator, a small ViT), each measured against its own untrained copy.
# In the quick profile MAE's ViT, read frozen, stays below both of these bars (lesson 07 shows why fine-tuning is
# its measure); in that gpu-profile run it ended above random init. Lesson 08 lines them all up.

# %%
from sslcourse.plots import plot_bars, results_table

baselines = {"random init": random_init, "supervised": supervised}
print(results_table(baselines))
plot_bars(baselines, title=f"{p.backbone} on {train.name}: the gap SSL has to close")
plt.show()

# %%
claim("the supervised encoder's linear probe is at least 30 points above random init's",
      supervised["linear_probe_accuracy"] - random_init["linear_probe_accuracy"], ">=", 0.30, fmt="{:+.1%}")

# %% [markdown]
# What do the features look like? A 2-D projection (PCA) of the test features, coloured by class. How far apart
# the classes lie has a number too, the **silhouette**: for each image, how much closer it is to its own class than
# to the nearest other class (cosine distance, from −1 to 1). Near 0, or below it with ten classes (the nearest of
# nine other classes is often closer than one's own by chance), means no class structure. The
# supervised encoder has pulled the classes apart; the random one has not.

# %%
from sklearn.metrics import silhouette_score

from sslcourse.evaluate import extract_features
from sslcourse.plots import plot_embedding

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
silhouette = {}
for ax, (name, enc) in zip(axes, [("random init", build_backbone(p.backbone, seed=SEED).to(p.device)),
                                  ("supervised", method.encoder)]):
    features = extract_features(enc, test.images)
    silhouette[name] = silhouette_score(features.cpu().numpy(), test.labels.cpu().numpy(), metric="cosine")
    plot_embedding(features, test.labels, test.classes, ax=ax, title=f"{name}: silhouette {silhouette[name]:.2f}",
                   legend=ax is axes[0])  # one legend, below the first map
plt.show()

# %%
claim("the supervised features' silhouette is at least 0.1 above random init's",
      silhouette["supervised"] - silhouette["random init"], ">=", 0.10, fmt="{:+.2f}")

# %% [markdown]
# ## What to try next
#
# * **Exercise 00** (`exercises/00_knn.ipynb`): write the weighted kNN classifier yourself, then choose k by leave-one-out on the training set
#   alone, without peeking at the test set.
# * Change `SEED` or the augmentation sliders and rerun; on a GPU machine the `gpu` profile runs by default
#   (a few minutes of training per lesson at most), and `SSLCOURSE_PROFILE=full` runs the long reproduction recipes.
# * Train the supervised baseline with 1 % of the labels
#   (`sslcourse.runs.finetune(encoder, train, test, fraction=0.01)`): this is the regime where
#   self-supervised pretraining pays off (lesson 08).
#
# **What failure looks like:** a kNN accuracy near chance (10 %) for a *trained* encoder means its features
# carry no class information — a collapsed representation, a training run that diverged (`fit` stops with
# a clear message on a `nan` loss), or an evaluation run on the wrong split or with the wrong labels.

# %%
from sslcourse.course import record_results

record_results("00_introduction", baselines, profile=p.name, dataset=train.name)
