"""Pictures the lessons draw: image grids, training curves, similarity matrices, embeddings, bars,
retrieval grids. Tensors may live on any device: every function copies what it draws to the CPU."""
from __future__ import annotations

import math

import matplotlib.colors as mcolors
import matplotlib.patches as mpatches
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator


def to_numpy_image(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) uint8 or float in [0, 1] -> (H, W, 3) array for imshow."""
    x = image.detach().cpu()
    if x.dtype == torch.uint8:
        x = x.float() / 255
    return x.float().clamp(0, 1).permute(1, 2, 0).numpy()


def show_images(images, titles=None, ncols: int = 8, scale: float = 1.3, suptitle: str | None = None,
                axes=None):
    """A grid of images (N, 3, H, W), uint8 or float in [0, 1]; returns the figure."""
    n = len(images)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    if axes is None:
        fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows + (0.3 if suptitle else 0)),
                                 squeeze=False)
        axes = axes.ravel()
    else:
        fig = axes[0].figure
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < n:
            ax.imshow(to_numpy_image(images[i]), interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_rows(rows: dict, ncols: int = 8, scale: float = 1.3, titles=None):
    """Several aligned rows of images, e.g. {"input": x, "masked": m, "filled": y}; ``titles``: one per column,
    over the first row."""
    names = list(rows)
    fig, axes = plt.subplots(len(names), ncols, figsize=(scale * ncols + 1, scale * len(names)), squeeze=False)
    for r, name in enumerate(names):
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(rows[name]):
                ax.imshow(to_numpy_image(rows[name][c]), interpolation="nearest")
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    for c, title in enumerate((titles or [])[:ncols]):
        axes[0, c].set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


def show_dataset(ds, per_class: int = 8, scale: float = 1.1):
    """``per_class`` examples of each class, one row per class."""
    fig, axes = plt.subplots(len(ds.classes), per_class, figsize=(scale * per_class + 1, scale * len(ds.classes)),
                             squeeze=False)
    labels = ds.labels.cpu()
    for c, name in enumerate(ds.classes):
        idx = (labels == c).nonzero().view(-1)[:per_class]
        for k in range(per_class):
            ax = axes[c, k]
            ax.set_xticks([])
            ax.set_yticks([])
            if k < len(idx):
                ax.imshow(to_numpy_image(ds.images[idx[k]]), interpolation="nearest")
        axes[c, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig


def smooth(values, weight: float = 0.6) -> np.ndarray:
    """Exponential moving average with the bias correction of Adam (the first points are not pulled to 0):
    a readable trend over noisy points, drawn on top of the points themselves."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** i))
    return np.asarray(out)


def _is_rate(key: str) -> bool:
    """Accuracies and shares (0..1) get an axis of their own, in %: never on the same scale as a loss."""
    return "accuracy" in key or key.startswith("knn") or key in ("recognised", "precision", "recall")


# what a legend calls a logged number where its key says it badly (others: the key with spaces)
LEGEND_NAMES = {"loss_d": "D's loss", "loss_g": "G's loss", "d_real": "D(x)", "d_fake": "D(G(z))",
                "knn": "kNN accuracy", "knn_accuracy": "kNN accuracy"}


def epochs_said(n: int) -> str:
    """"1 epoch", "2 epochs": a run's length as a title or a legend says it."""
    return f"{n} epoch" + ("" if n == 1 else "s")


def legend_name(key: str) -> str:
    """A logged number's name in a legend: ``loss_d`` -> "D's loss", ``train_accuracy`` -> "train accuracy"."""
    return LEGEND_NAMES.get(key, key.replace("_", " "))


def _axis_label(keys: list) -> str:
    """A short label for the numbers on one axis (the legend names each line): their shared last word
    (``loss_d, loss_g`` -> ``loss``; ``positive_similarity, negative_similarity`` -> ``similarity``), else
    their names (``loss, hidden_mse`` -> ``loss / hidden mse``)."""
    if len(keys) == 1:
        return legend_name(keys[0])
    if all(k.startswith("loss") for k in keys):
        return "loss"
    last = {k.split("_")[-1] for k in keys}
    if len(last) == 1:
        return last.pop()
    return " / ".join(map(legend_name, keys)) if len(keys) <= 3 else "value (each line: the legend)"


LINE_STYLES = ("-", ":", "-.", (0, (5, 1, 1, 1)))  # several numbers in one colour: told apart by their lines
REFERENCE_GREYS = ("0.55", "0.3", "0.75")  # reference levels (the first: random init's grey, ENCODER_COLOURS)


def _curves(ax, series: dict, marker: str = "", smoothed: bool = False, colour: str | None = None,
            reference: dict | None = None):
    """Plot {key: (xs, ys)} on ``ax``, losses (and other numbers) on its left axis and rates (in %) on a twin
    right axis (dashed where both are drawn); each axis labelled, one legend naming every line. ``colour``: every
    line in it (a method's colour, :func:`encoder_colour`), the numbers told apart by their line styles, else one
    colour per number. ``reference``: {label: {key: value}}, each drawn as a dotted grey level on its key's axis
    (what the untrained network scores). Returns the lines."""
    rates = {k: v for k, v in series.items() if _is_rate(k)}
    others = {k: v for k, v in series.items() if k not in rates}
    colours = {k: colour or f"C{i % 10}" for i, k in enumerate(series)}  # one per number, whichever axis it is on
    lines = []
    for target, group, scale in ((ax, others, 1), (ax.twinx() if rates and others else ax, rates, 100)):
        for i, (k, (xs, ys)) in enumerate(group.items()):
            style = "--" if scale == 100 and others else "-"
            if colour is not None and i:
                style = LINE_STYLES[i % len(LINE_STYLES)]
            ys = np.asarray(ys, dtype=float) * scale
            if smoothed:
                target.plot(xs, ys, lw=0.8, alpha=0.45, ls=style, color=colours[k])
                lines += target.plot(xs, smooth(ys), color=colours[k], lw=1.8, label=legend_name(k), ls=style)
            else:
                lines += target.plot(xs, ys, marker or "o", ls=style, color=colours[k], label=legend_name(k))
            for j, (label, values) in enumerate((reference or {}).items()):
                if k in values:
                    lines.append(target.axhline(values[k] * scale, ls=":", color=REFERENCE_GREYS[j % 3],
                                                label=f"{label} ({legend_name(k)})"))
        if group:
            target.set_ylabel("accuracy (%)" if scale == 100 else _axis_label(list(group)))
    ax.set_xlabel("epoch")
    handles = lines
    if smoothed:  # the legend says what thin and thick mean (a lesson's own title may replace the panel's)
        key = colour or "0.35"
        handles = lines + [Line2D([], [], lw=0.8, alpha=0.45, color=key, label="thin: as logged (every few steps)"),
                           Line2D([], [], lw=1.8, color=key, label="thick: smoothed")]
    _legend_below(ax, handles)
    return lines


def _legend_below(ax, handles) -> None:
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.28),  # below the axis label
              ncol=min(3, len(handles)), frameon=False)


def add_to_legend(ax, *artists) -> None:
    """Add ``artists`` (a line a lesson draws on a :func:`plot_history` panel, e.g. ``ax.axvline(...)``) to the
    legend below that panel, keeping its entries — thin and thick included — where they were."""
    legend = ax.get_legend()
    _legend_below(ax, (list(legend.legend_handles) if legend is not None else []) + list(artists))


def plot_history(history, keys=None, ax=None, per: str = "steps", colour: str | None = None,
                 reference: dict | None = None):
    """Training curves from a ``fit`` History: each logged number averaged over every ``log_every`` steps
    (thin) with its smoothed trend (thick), and beside them what the per-epoch evaluation measured (``eval_fn``'s
    numbers, e.g. kNN accuracy — not the epoch means of the numbers already drawn per step). Losses and
    accuracies never share an axis: accuracies (in %) go on a labelled axis of their own.

    Without ``ax`` both panels are drawn; with ``ax``, one: the per-step curves of ``keys``, or with
    ``per="epochs"`` the evaluation's numbers. ``colour``: every line in the method's colour
    (``colour=encoder_colour("jigsaw")``), so a lesson keeps one colour per method across its figures.
    ``reference``: {label: the evaluation's numbers for it}, e.g. ``{"random init": monitor(untrained_encoder)}``,
    drawn as dotted levels on the per-epoch panel, so its first point has something to rise from."""
    if per not in ("steps", "epochs"):
        raise ValueError(f"per={per!r}: choose 'steps' (training curves) or 'epochs' (the evaluation's numbers)")
    logged = {k for row in history.steps for k in row}
    step_keys = keys or [k for k in (history.steps[0] if history.steps else {}) if k not in ("epoch", "step")]
    eval_keys = [k for k in (history.epochs[-1] if history.epochs else {})
                 if k not in logged and k not in ("epoch", "step", "lr", "seconds")]
    if per == "epochs" and keys:
        eval_keys = list(keys)

    def draw(target, which):
        if which == "epochs":
            _curves(target, {k: history.series(k, per="epochs") for k in eval_keys}, marker="o", colour=colour,
                    reference=reference)
            target.xaxis.set_major_locator(MaxNLocator(integer=True))  # one evaluation per whole epoch
            target.set_title("evaluation (per epoch)")
        else:
            _curves(target, {k: history.series(k) for k in step_keys}, smoothed=True, colour=colour)
            target.set_title("training (thin: logged every few steps; thick: smoothed)", fontsize=9)

    if ax is not None:
        draw(ax, per)
        return ax.figure
    panels = ["steps"] + (["epochs"] if eval_keys else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.2), squeeze=False)
    for target, which in zip(axes.ravel(), panels):
        draw(target, which)
    fig.tight_layout()
    return fig


def show_retrieval(query, gallery, neighbours: dict, gallery_labels=None, query_label=None, classes=None,
                   scale: float = 1.0):
    """A query image and, one row per encoder, its nearest gallery images: ``neighbours`` = {name: indices}.
    Neighbours of the query's class get a green frame, others a red one (when labels are given)."""
    k = max(len(idx) for idx in neighbours.values())
    fig, axes = plt.subplots(len(neighbours), k + 1, figsize=(scale * (k + 1) + 1.2, scale * len(neighbours)),
                             squeeze=False)
    title = f"query ({classes[int(query_label)]})" if classes is not None and query_label is not None else "query"
    for r, (name, idx) in enumerate(neighbours.items()):
        for c in range(k + 1):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.imshow(to_numpy_image(query), interpolation="nearest")
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
                if r == 0:
                    ax.set_title(title, fontsize=8)
                continue
            if c - 1 < len(idx):
                i = int(idx[c - 1])
                ax.imshow(to_numpy_image(gallery[i]), interpolation="nearest")
                if gallery_labels is not None and query_label is not None:
                    same = int(gallery_labels[i]) == int(query_label)
                    for spine in ax.spines.values():
                        spine.set_edgecolor("tab:green" if same else "tab:red")
                        spine.set_linewidth(2)
    fig.tight_layout()
    return fig


def plot_matrix(matrix, title: str = "", xlabel: str = "", ylabel: str = "", marks=None, ax=None,
                cmap: str = "viridis", ticklabels=None, annotate: bool = False, vmin=None, vmax=None,
                colour_label: str = ""):
    """A heatmap (similarity or confusion matrix); ``marks`` = [(row, col), ...] outlined in red; ``vmin``/``vmax``
    fix the colour scale (two matrices to compare need the same one: each scaled to its own range looks alike);
    ``colour_label`` names what the colour bar measures."""
    m = matrix.detach().cpu().float().numpy() if isinstance(matrix, torch.Tensor) else np.asarray(matrix)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 3.6))
    colours = plt.get_cmap(cmap).with_extremes(bad="0.5")  # a masked cell (NaN: a similarity matrix's diagonal)
    im = ax.imshow(m, cmap=colours, vmin=vmin, vmax=vmax)     # grey, apart from every value of the scale
    ax.figure.colorbar(im, ax=ax, fraction=0.046).set_label(colour_label, fontsize=8)
    for r, c in marks or []:
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="red", lw=1.5))
    if annotate:
        integer = np.allclose(m, np.round(m))
        for (r, c), v in np.ndenumerate(m):
            ax.text(c, r, f"{v:.0f}" if integer else f"{v:.2g}", ha="center", va="center", fontsize=7,
                    color="white" if v < m.max() / 2 else "black")
    if ticklabels is not None:
        ax.set_xticks(range(len(ticklabels)), ticklabels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(ticklabels)), ticklabels, fontsize=7)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.figure.tight_layout()
    return ax.figure


def plot_view_similarities(z: torch.Tensor, title: str = "cosine similarities", ax=None):
    """The (2N, 2N) cosine similarities of unit embeddings ``z`` whose rows i and i + N are one image's two views:
    each view's partner outlined, the diagonal (a view against itself) masked grey, on one scale from -1 to 1 so
    that two matrices compare."""
    if z.dim() != 2 or len(z) % 2:
        raise ValueError(f"z must be (2N, D): two views of N images, rows i and i + N; got {tuple(z.shape)}")
    z = z.detach().float().cpu()
    n = len(z) // 2
    similarities = (z @ z.T).fill_diagonal_(float("nan"))
    partners = [(i, (i + n) % (2 * n)) for i in range(2 * n)]
    return plot_matrix(similarities, title, "view k", "view i", marks=partners, ax=ax, cmap="magma", vmin=-1, vmax=1,
                       colour_label="cosine similarity")


def plot_embedding(features: torch.Tensor, labels: torch.Tensor, classes=None, method: str = "pca",
                   ax=None, title: str = "", max_points: int = 2000, seed: int = 0, legend: bool = True):
    """A 2-D map of features coloured by class (PCA, or t-SNE from scikit-learn); the classes' legend below the map,
    off the points (``legend=False`` for all but one of several maps side by side)."""
    f = features[:max_points].detach().float().cpu().numpy()
    y = labels[:max_points].cpu().numpy()
    if method == "tsne":
        from sklearn.manifold import TSNE

        xy = TSNE(2, init="pca", perplexity=30, random_state=seed).fit_transform(f)
        # t-SNE's axes have no meaning of their own: it keeps who is near whom, not distances between clusters
        axis_labels = ("t-SNE 1 (no units)", "t-SNE 2 (no units)")
    else:
        from sklearn.decomposition import PCA

        pca = PCA(2, random_state=seed)
        xy = pca.fit_transform(f)
        axis_labels = tuple(f"PC {i + 1} ({r:.0%} of the variance)" for i, r in enumerate(pca.explained_variance_ratio_))
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4))
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=y, cmap="tab10", s=5, vmin=-0.5, vmax=9.5)
    if classes is not None and legend:
        handles = [plt.Line2D([], [], marker="o", ls="", color=sc.cmap(sc.norm(i)), label=c)
                   for i, c in enumerate(classes)]
        ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=5,
                  markerscale=0.8, frameon=False)
    ax.set_title(title or method.upper())
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(axis_labels[0], fontsize=8)
    ax.set_ylabel(axis_labels[1], fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


BAR_HATCHES = ("////", "....", "xxxx")  # the lighter keys of a bar group: a hatch as well as a shade


def plot_bars(results: dict, keys=("knn_accuracy", "linear_probe_accuracy"), title: str = "", ax=None,
              colours: dict | None = None, groups: dict | None = None):
    """Grouped bars: ``results`` = {name: {key: value}}; one group per name, one bar per key.

    A group takes its encoder's colour (:func:`encoder_colour`), as in every other figure of the course; where a
    name is no encoder of the course (an ablation's settings), the colour ``colours`` gives it, else one of its
    own (:func:`group_colours`). The keys are told apart by shade, lightest first, and every key but the last by
    a hatch too (a light grey group's dark bar and a dark grey group's light bar can be one grey), as the legend
    shows in grey.

    ``groups`` ({label: [names]}, in the order of ``results``): encoders that are not to be ranked together (other
    networks, each with its own untrained reference) — a rule between two groups, each group's label above it."""
    names = list(results)
    if groups is not None:
        grouped = [n for members in groups.values() for n in members]
        if grouped != names:
            raise ValueError(f"groups must list the names of results in their order, once each: {grouped} vs {names}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.1 * len(names) + 2.5, 3.2))
    colours = [mcolors.to_rgb(c) for c in group_colours(names, colours).values()]
    width = 0.8 / len(keys)
    # each group has its own colour: the legend names the shades
    # hatched or solid: "light" and "dark" are relative within a group (supervised's light bar is darker than
    # random init's dark one), a hatch is not
    shade_names = {0: " (hatched bars)", 1: " (solid bars)"} if len(keys) == 2 else {}
    handles = []
    for i, k in enumerate(keys):
        white = 0.55 * (len(keys) - 1 - i) / max(1, len(keys) - 1)  # share of white: the last key at full colour
        hatch = BAR_HATCHES[i % len(BAR_HATCHES)] if i < len(keys) - 1 else None
        vals = [100 * results[n].get(k, float("nan")) for n in names]
        bars = ax.bar(np.arange(len(names)) + i * width, vals, width, color=[_lighten(c, white) for c in colours],
                      edgecolor="0.25", linewidth=0.5, hatch=hatch)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
        handles.append(mpatches.Patch(facecolor=_lighten(mcolors.to_rgb("0.35"), white), edgecolor="0.25",
                                      linewidth=0.5, hatch=hatch, label=legend_name(k) + shade_names.get(i, "")))
    ax.set_xticks(np.arange(len(names)) + width * (len(keys) - 1) / 2, names, rotation=20)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 118 if groups else 105)
    if groups:
        start, centre = 0, width * (len(keys) - 1) / 2
        for label, members in groups.items():
            end = start + len(members)
            if start:
                ax.axvline(start - 0.5 + centre, color="0.3", linewidth=1)
            ax.text((start + end - 1) / 2 + centre, 110, label, ha="center", va="center", fontsize=8)
            start = end
    ax.legend(handles=handles, fontsize=8)
    ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def plot_by_stage(layer_acc: dict, encoder, stages=None, title: str = "features by depth", ax=None):
    """``evaluate.probe_by_stage``'s result as one line per encoder, in the encoder's colour: linear-probe accuracy
    (%) against the stage, each stage labelled with its channels."""
    ax = ax or plt.figure(figsize=(5.6, 3.4)).gca()
    stages = list(range(1, len(encoder.stages))) if stages is None else list(stages)
    for name, accs in layer_acc.items():
        if len(accs) != len(stages):
            raise ValueError(f"{name!r} has {len(accs)} accuracies for {len(stages)} stages {stages}")
        ax.plot(stages, [100 * a for a in accs], "o-", color=encoder_colour(name), label=name)
    ax.set_xticks(stages, [f"stage {k}\n{encoder.stage_dims[k]} ch" for k in stages])
    ax.set_xlabel("the stage whose pooled output is probed (its channels)")
    ax.set_ylabel("linear probe, test accuracy (%)")
    ax.legend()
    ax.set_title(title)
    return ax


def _lighten(rgb, white: float) -> tuple:
    """``rgb`` mixed with ``white`` (0..1) parts of white."""
    return tuple(x + (1 - x) * white for x in rgb)


# Colours for what is no method of the course (an ablation's settings): none of them is a method's colour (no pink
# beside BYOL's, no orange beside rotation's), so a setting's bar never reads as another method. Teal, navy and gold
# are far from every method's colour. The violet (a darker relative of the GAN's purple) and the last three (paler
# relatives of SimCLR's red, MAE's teal and BYOL's pink) come only after them: no lesson's panel has more than four
# settings, the only fourth is lesson 06's (which draws no GAN), and lesson 08, which draws every method, draws no
# settings.
SETTING_COLOURS = ("#1b9e77", "#000080", "#e6ab02", "#6a3d9a", "#fb8072", "#8dd3c7", "#bc80bd")


def group_colours(names, colours: dict | None = None) -> dict:
    """{name: colour} as :func:`plot_bars` draws its groups: ``colours`` where it names one (an ablation's run
    that is the lesson's recipe, in its method's colour), else each encoder of the course in its own colour
    (:func:`encoder_colour`: random init grey), and any other name the next of :data:`SETTING_COLOURS` that no
    group here has — so a second panel about the same runs can use the same colours."""
    names, given = list(names), dict(colours or {})
    for n in names:
        if n not in given and _encoder_key(n) in ENCODER_COLOURS:
            given[n] = encoder_colour(n)
    free = (c for c in SETTING_COLOURS if c not in given.values())
    return {n: given[n] if n in given else next(free, "C7") for n in names}


def _is_percent(key: str) -> bool:
    return "accuracy" in key or key.startswith(("knn", "probe", "finetune", "precision"))


def results_table(results: dict, keys=("knn_accuracy", "linear_probe_accuracy")) -> str:
    """A plain-text table {name: {key: value}}: accuracies as percentages, other numbers (AUC, NMI) with three
    decimals, every column as wide as its header so that no two headers run together."""
    headers = [k.replace("_accuracy", "").replace("_", " ").replace("knn", "kNN") for k in keys]
    name_width = max([22] + [len(str(n)) + 2 for n in results])
    widths = [max(9, len(h) + 2) for h in headers]
    head = f"{'encoder':<{name_width}}" + "".join(f"{h:>{w}}" for h, w in zip(headers, widths))
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        cells = []
        for k, w in zip(keys, widths):
            v = r.get(k)
            if not isinstance(v, (int, float)):
                cells.append(f"{'-':>{w}}")
            else:
                cells.append(f"{100 * v:>{w - 1}.1f}%" if _is_percent(k) else f"{v:>{w}.3f}")
        lines.append(f"{name:<{name_width}}" + "".join(cells))
    return "\n".join(lines)


# One colour per encoder, the same in every figure of a lesson (matched on the name's first word).
ENCODER_COLOURS = {"random": "0.55", "supervised": "0.1", "inpainting": "C0", "rotation": "C1", "jigsaw": "C2",
                   "simclr": "C3", "gan": "C4", "moco": "C5", "byol": "C6", "mae": "C9", "vit": "C8"}


def encoder_colour(name: str) -> str:
    """The colour of an encoder in the course's figures: ``encoder_colour("SimCLR f(x)") == encoder_colour("simclr")``."""
    return ENCODER_COLOURS.get(_encoder_key(name), "C7")


def _encoder_key(name) -> str:
    """The first word of ``name``, lower case: what :data:`ENCODER_COLOURS` is keyed by."""
    return str(name).lower().replace("-", " ").split()[0] if str(name).strip() else ""
