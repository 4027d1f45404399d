"""The course's figures: what a learner reads off them (colours, legends)."""


def test_leaderboard_bars_take_each_encoders_colour_and_shade_each_metric():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import colors

    from sslcourse.plots import ENCODER_COLOURS, encoder_colour, group_colours, plot_bars

    results = {n: {"knn_accuracy": 0.3, "linear_probe_accuracy": 0.4} for n in ("random init", "simclr", "gan")}
    ax = plot_bars(results).axes[0]
    bars = ax.patches[:6]  # the kNN bars of the three encoders, then their linear-probe bars
    for bar, name in zip(bars[3:], results):  # the last metric in the encoder's own colour
        assert colors.to_hex(bar.get_facecolor()) == colors.to_hex(encoder_colour(name))
    for knn, probe in zip(bars[:3], bars[3:]):  # the first one lighter
        assert sum(knn.get_facecolor()[:3]) > sum(probe.get_facecolor()[:3])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["kNN accuracy (hatched bars)",
                                                                   "linear probe accuracy (solid bars)"]
    # a hatch tells the keys apart where shades cannot: random init's dark grey against the supervised light grey
    assert all(bar.get_hatch() for bar in bars[:3]) and not any(bar.get_hatch() for bar in bars[3:])
    assert [h.get_hatch() for h in ax.get_legend().get_patches()] == [bars[0].get_hatch(), None]
    settings = {"random init": results["random init"], "block": results["simclr"], "pixels": results["gan"]}
    ablation = plot_bars(settings).axes[0]
    assert ablation.patches[4].get_facecolor() != ablation.patches[5].get_facecolor()  # not one grey for both
    for bar, colour in zip(ablation.patches[3:], group_colours(settings).values()):  # what a second panel reuses
        assert colors.to_hex(bar.get_facecolor()) == colors.to_hex(colour)
    # random init stays grey beside an ablation's settings; the recipe's run can take its method's colour; the
    # other settings take colours no group of the figure has
    chosen = group_colours(settings, {"block": encoder_colour("inpainting")})
    assert chosen["random init"] == encoder_colour("random") and chosen["block"] == encoder_colour("inpainting")
    assert len(set(chosen.values())) == 3
    course = {colors.to_hex(c) for c in ENCODER_COLOURS.values()}
    assert colors.to_hex(group_colours(settings)["block"]) not in course, "a setting never takes a method's colour"
    recoloured = plot_bars(settings, colours={"block": encoder_colour("inpainting")}).axes[0]
    assert colors.to_hex(recoloured.patches[4].get_facecolor()) == colors.to_hex(encoder_colour("inpainting"))


def test_a_methods_training_curves_can_take_its_colour_with_one_line_style_per_number():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import colors

    from sslcourse.plots import encoder_colour
    from sslcourse.train import History

    h = History(steps=[{"epoch": e / 10, "step": e, "loss": 2 - e / 10, "puzzle_accuracy": e / 20,
                        "hidden_mse": 1 / (e + 1)} for e in range(1, 11)])
    fig = h.plot(colour=encoder_colour("jigsaw"))
    lines = [line for ax in fig.axes for line in ax.lines]
    assert {colors.to_hex(line.get_color()) for line in lines} == {colors.to_hex(encoder_colour("jigsaw"))}
    labelled = [line for line in lines if not line.get_label().startswith("_")]
    assert len({str(line.get_linestyle()) for line in labelled}) == 3, "loss, hidden mse, accuracy: three styles"
    default = [line for ax in h.plot().axes for line in ax.lines if not line.get_label().startswith("_")]
    assert len({line.get_color() for line in default}) == 3, "without a colour: one per number"


def test_features_by_depth_draw_one_line_per_encoder_in_its_colour():
    import matplotlib
    import pytest

    matplotlib.use("Agg")
    from matplotlib import colors

    from sslcourse.models import SmallConvNet
    from sslcourse.plots import encoder_colour, plot_by_stage

    net = SmallConvNet((8, 16, 24, 32))
    ax = plot_by_stage({"jigsaw": [0.2, 0.3, 0.4], "random init": [0.1, 0.2, 0.35]}, net)
    assert [colors.to_hex(line.get_color()) for line in ax.lines] == [
        colors.to_hex(encoder_colour("jigsaw")), colors.to_hex(encoder_colour("random"))]
    assert list(ax.lines[0].get_ydata()) == [20.0, 30.0, 40.0] and list(ax.lines[0].get_xdata()) == [1, 2, 3]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["stage 1\n16 ch", "stage 2\n24 ch", "stage 3\n32 ch"]
    assert ax.get_ylabel() == "linear probe, test accuracy (%)" and "stage" in ax.get_xlabel()
    with pytest.raises(ValueError, match="2 accuracies for 3 stages"):
        plot_by_stage({"jigsaw": [0.2, 0.3]}, net)


def test_a_masked_cell_of_a_matrix_is_grey_not_a_value():
    """A similarity matrix with its diagonal masked (NaN): the masked cells are grey, apart from every value of the
    scale (magma's top is near white, the empty canvas's colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import torch
    from matplotlib import colors

    from sslcourse.plots import plot_matrix

    fig = plot_matrix(torch.eye(3).fill_diagonal_(float("nan")), cmap="magma", vmin=-1, vmax=1)
    image = fig.axes[0].images[0]
    assert colors.to_hex(image.cmap.get_bad()) == colors.to_hex("0.5")
    assert colors.to_hex(matplotlib.colormaps["magma"].get_bad()) != colors.to_hex("0.5"), "the shared map untouched"


def test_a_batch_of_views_similarities_outline_each_views_partner():
    """Rows i and i + N are one image's views: 2N partners outlined (i with i + N and back), the diagonal masked,
    the scale -1..1 whatever the values; an odd number of rows is no batch of pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import pytest
    import torch
    import torch.nn.functional as F

    from sslcourse.plots import plot_view_similarities

    z = F.normalize(torch.randn(6, 4, generator=torch.Generator().manual_seed(0)), dim=1)
    ax = plot_view_similarities(z, "views").axes[0]
    outlined = sorted((round(r.get_y() + 0.5), round(r.get_x() + 0.5)) for r in ax.patches)
    assert outlined == sorted([(0, 3), (1, 4), (2, 5), (3, 0), (4, 1), (5, 2)])
    shown = ax.images[0].get_array()
    assert shown.mask.diagonal().all() and not shown.mask.sum() > 6
    assert ax.images[0].get_clim() == (-1, 1)
    with pytest.raises(ValueError, match=r"\(2N, D\)"):
        plot_view_similarities(z[:5])


def test_bars_of_other_networks_stand_in_groups_apart():
    """Lesson 08's leaderboard: the ConvNets, the GAN's discriminator and the ViT are not ranked together."""
    import matplotlib

    matplotlib.use("Agg")
    import pytest

    from sslcourse.plots import plot_bars

    results = {n: {"knn_accuracy": 0.3, "linear_probe_accuracy": 0.4}
               for n in ("random init", "simclr", "random D", "gan", "random ViT", "mae")}
    groups = {"small ConvNet": ["random init", "simclr"], "discriminator": ["random D", "gan"],
              "ViT": ["random ViT", "mae"]}
    ax = plot_bars(results, groups=groups).axes[0]
    rules = [line.get_xdata()[0] for line in ax.get_lines()]
    ticks = list(ax.get_xticks())
    assert len(rules) == 2, "one rule between each two groups"
    assert ticks[1] < rules[0] < ticks[2] and ticks[3] < rules[1] < ticks[4], "each rule between two groups' bars"
    assert [t.get_text() for t in ax.texts if t.get_text() in groups] == list(groups), "each group named above it"
    with pytest.raises(ValueError, match="groups must list the names"):
        plot_bars(results, groups={"all": ["simclr", "random init", "random D", "gan", "random ViT", "mae"]})


def test_the_training_panels_legend_says_what_thin_and_thick_curves_are():
    """A lesson may give the panel its own title: the legend, not the title, says thin = as logged, thick =
    smoothed; the per-epoch panel, whose points are not smoothed, says nothing of it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sslcourse.train import History

    h = History(steps=[{"epoch": e / 10, "step": e, "loss": 2 - e / 10} for e in range(1, 11)],
                epochs=[{"epoch": 1, "loss": 1.5, "knn": 0.4}])
    fig, (a, b) = plt.subplots(1, 2)
    h.plot(["loss"], ax=a)
    a.set_title("the lesson's own title")
    h.plot(ax=b, per="epochs")
    texts = [t.get_text() for t in a.get_legend().get_texts()]
    assert texts == ["loss", "thin: as logged (every few steps)", "thick: smoothed"]
    assert not any("thin" in t.get_text() for t in b.get_legend().get_texts())
    plt.close(fig)


def test_a_line_added_to_a_history_panels_legend_keeps_its_entries():
    """Lesson 06 marks when MoCo's queue is full on History.plot's panels: the legend gains that line and keeps what
    thin and thick mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sslcourse.plots import add_to_legend
    from sslcourse.train import History

    h = History(steps=[{"epoch": e / 10, "step": e, "loss": 2 - e / 10} for e in range(1, 11)])
    fig, ax = plt.subplots()
    h.plot(["loss"], ax=ax)
    add_to_legend(ax, ax.axvline(0.5, ls="--", label="queue full of real keys"))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == \
        ["loss", "thin: as logged (every few steps)", "thick: smoothed", "queue full of real keys"]
    plt.close(fig)
