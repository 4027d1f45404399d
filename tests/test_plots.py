"""The course's figures: what a learner reads off them (colours, legends)."""


def test_leaderboard_bars_take_each_encoders_colour_and_shade_each_metric():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import colors

    from sslcourse.plots import encoder_colour, group_colours, plot_bars

    results = {n: {"knn_accuracy": 0.3, "linear_probe_accuracy": 0.4} for n in ("random init", "simclr", "gan")}
    ax = plot_bars(results).axes[0]
    bars = ax.patches[:6]  # the kNN bars of the three encoders, then their linear-probe bars
    for bar, name in zip(bars[3:], results):  # the last metric in the encoder's own colour
        assert colors.to_hex(bar.get_facecolor()) == colors.to_hex(encoder_colour(name))
    for knn, probe in zip(bars[:3], bars[3:]):  # the first one lighter
        assert sum(knn.get_facecolor()[:3]) > sum(probe.get_facecolor()[:3])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["knn accuracy", "linear probe accuracy"]
    settings = {"random init": results["random init"], "block": results["simclr"], "pixels": results["gan"]}
    ablation = plot_bars(settings).axes[0]
    assert ablation.patches[4].get_facecolor() != ablation.patches[5].get_facecolor()  # not one grey for both
    for bar, colour in zip(ablation.patches[3:], group_colours(settings).values()):  # what a second panel reuses
        assert colors.to_hex(bar.get_facecolor()) == colors.to_hex(colour)

