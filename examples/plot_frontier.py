"""
Which fully connected map to pick: the recorded accuracy-time frontier
=======================================================================

This example draws no new measurements. It plots the accuracy-time frontier that
``benchmarks/bench_frontier.py`` recorded on three real datasets (the tables of the section
"The accuracy-time frontier of the fully connected maps" in ``benchmarks/RESULTS.md``; 2-core
x86_64 machine, one model after another, times indicative to within about 2x because the
machine was shared).

Every model is fitted on all training rows, with the penalty chosen by GCV, and scored on the
held-out rows; time is end to end (features, ridge, prediction). The fully connected NTK maps
of this library (:class:`~sklearn_ntk.NTKSketch`, :class:`~sklearn_ntk.NTKRandomFeatures`,
:class:`~sklearn_ntk.NTKNystroem`, all of depth 2, at 1,024 / 2,048 / 4,096 features) are
compared with what a scikit-learn user would reach for instead: ``Nystroem(kernel="rbf")``
and ``PolynomialCountSketch(degree=2)`` followed by the same ridge solver, and with exact NTK
kernel ridge on the largest training subset that is practical on two cores.

What the plot says, one sentence per dataset:

- *Fashion-MNIST flattened* (60,000 -> 10,000): scikit-learn's RBF Nystroem is the best per
  second; among the NTK maps ``NTKSketch(4096)`` matches exact NTK kernel ridge on 10,000 rows
  in a fifth of its time, and ``NTKNystroem(4096)`` is the most accurate.
- *UCI letter* (16,000 -> 4,000): RBF Nystroem wins at every width; ``NTKNystroem`` and
  ``NTKRandomFeatures`` reach the exact NTK's accuracy at 4,096 features.
- *ggplot2 diamonds* (43,152 -> 10,788, regression): the NTK maps win; ``NTKSketch(1024)`` is
  the cheapest good model and ``NTKNystroem(4096)`` the best one, while a degree-2 polynomial
  sketch without a constant term cannot fit the target at all (R^2 0.29, off the axes).
"""

import matplotlib.pyplot as plt

# %%
# Recorded numbers
# ----------------
# (model, width, seconds, score): test accuracy, or test R^2 for diamonds. Exact NTK kernel
# ridge has no width; its training subset is given in the legend.
frontier = {
    "Fashion-MNIST flattened (60,000 train)": {
        "exact": (10_000, 210.6, 0.8776),
        "NTKNystroem": [(1024, 41.6, 0.8617), (4096, 227.0, 0.8790)],
        "NTKRandomFeatures": [(1024, 5.9, 0.8396), (4096, 43.2, 0.8682)],
        "NTKSketch": [(1024, 10.4, 0.8488), (4096, 44.7, 0.8763)],
        "sklearn Nystroem(rbf)": [(1024, 4.3, 0.8619), (4096, 68.6, 0.8825)],
        "sklearn PolynomialCountSketch(2)": [(1024, 11.9, 0.8422), (4096, 74.4, 0.8688)],
    },
    "UCI letter (16,000 train)": {
        "exact": (8_000, 248.5, 0.9667),
        "NTKNystroem": [(1024, 17.3, 0.9223), (2048, 36.7, 0.9487), (4096, 100.2, 0.9670)],
        "NTKRandomFeatures": [(1024, 4.5, 0.9123), (2048, 15.3, 0.9497),
                              (4096, 98.0, 0.9683)],
        "NTKSketch": [(1024, 4.0, 0.9133), (2048, 10.1, 0.9307), (4096, 53.4, 0.9550)],
        "sklearn Nystroem(rbf)": [(1024, 5.6, 0.9495), (2048, 16.1, 0.9692),
                                  (4096, 141.3, 0.9762)],
        "sklearn PolynomialCountSketch(2)": [(1024, 5.5, 0.7452), (2048, 7.1, 0.7462),
                                             (4096, 58.4, 0.7462)],
    },
    "ggplot2 diamonds, R^2 (43,152 train)": {
        "exact": (8_000, 99.5, 0.9874),
        "NTKNystroem": [(1024, 16.8, 0.9877), (2048, 71.9, 0.9885), (4096, 213.8, 0.9890)],
        "NTKRandomFeatures": [(1024, 5.4, 0.9838), (2048, 25.8, 0.9870),
                              (4096, 70.1, 0.9876)],
        "NTKSketch": [(1024, 5.5, 0.9865), (2048, 19.9, 0.9863), (4096, 35.0, 0.9859)],
        "sklearn Nystroem(rbf)": [(1024, 7.4, 0.9818), (2048, 28.4, 0.9878),
                                  (4096, 89.3, 0.9881)],
        "sklearn PolynomialCountSketch(2)": [(1024, 7.3, 0.2947), (2048, 16.3, 0.2947),
                                             (4096, 62.2, 0.2947)],
    },
}
styles = {"NTKNystroem": "C0o-", "NTKRandomFeatures": "C1s-", "NTKSketch": "C2^-",
          "sklearn Nystroem(rbf)": "C3D--", "sklearn PolynomialCountSketch(2)": "C7v--"}

# %%
# The plot
# --------
# Each line joins one map's widths, left to right; up and to the left is better. The y-axis
# of each panel is clipped to the range of the competitive models, so a model far below
# (the polynomial sketch on diamonds) is left out rather than flattening the others.
fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
for ax, (title, models) in zip(axes, frontier.items()):
    n_exact, seconds, score = models["exact"]
    ax.plot([seconds], [score], "k*", ms=13, label=f"exact NTK, {n_exact:,} train")
    kept = [score]
    for name, points in models.items():
        if name == "exact":
            continue
        widths, times, scores = zip(*points)
        ax.plot(times, scores, styles[name], label=name)
        for width, t, s in points:
            ax.annotate(str(width), (t, s), textcoords="offset points", xytext=(4, -10),
                        fontsize=7)
        kept += [s for s in scores if s > 0.5]
    low, high = min(kept), max(kept)
    ax.set_ylim(low - 0.08 * (high - low), high + 0.08 * (high - low))
    ax.set_xscale("log")
    ax.set_xlabel("end-to-end time (s, log scale)")
    ax.set_ylabel("test R^2" if "R^2" in title else "test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()
