#!/usr/bin/env python
"""Draw the docs site's favicon and social-card image (matplotlib only; no data, no numbers, so they never go stale).

    python scripts/make_site_images.py    # writes nbs/assets/favicon.png (64×64) and nbs/assets/card.png (1200×630)

The mark: a 4×4 grid of "pixels", the left half cool (REAL photographs), the right half warm (FAKE), as in the
demo's heatmap colours (blue = evidence for REAL, red = evidence for FAKE).
"""
from pathlib import Path
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np

OUT = Path(__file__).resolve().parents[1] / 'nbs' / 'assets'


def mark(ax):
    "The 4×4 REAL/FAKE pixel mark on `ax`."
    rng = np.random.default_rng(0)
    g = np.linspace(-1, 1, 4)[None, :].repeat(4, 0) + rng.normal(0, 0.18, (4, 4))
    ax.imshow(g, cmap='coolwarm', vmin=-1.3, vmax=1.3, interpolation='nearest')
    for k in np.arange(-0.5, 4, 1):
        ax.axhline(k, color='white', lw=2)
        ax.axvline(k, color='white', lw=2)
    ax.set_axis_off()


def favicon(path: Path):
    fig = plt.figure(figsize=(1, 1), dpi=64)
    mark(fig.add_axes([0, 0, 1, 1]))
    fig.savefig(path, dpi=64, transparent=True)
    plt.close(fig)


def card(path: Path):
    fig = plt.figure(figsize=(12, 6.3), dpi=100, facecolor='#f7f7f9')
    mark(fig.add_axes([0.06, 0.2, 0.3, 0.6]))
    fig.text(0.42, 0.62, 'cifake_nb', fontsize=64, weight='bold', color='#222')
    fig.text(0.42, 0.48, 'Real photo or AI-generated?', fontsize=30, color='#333')
    fig.text(0.42, 0.36, 'Train, evaluate, explain and serve\nreal-vs-fake detectors on CIFAKE', fontsize=19, color='#555', linespacing=1.4)
    fig.text(0.42, 0.24, 'calibrated probabilities · evidence heatmaps · ONNX demo', fontsize=14, color='#777')
    fig.savefig(path, dpi=100, facecolor=fig.get_facecolor())
    plt.close(fig)


if __name__ == '__main__':
    OUT.mkdir(parents=True, exist_ok=True)
    favicon(OUT / 'favicon.png')
    card(OUT / 'card.png')
    print(f'wrote {OUT / "favicon.png"} and {OUT / "card.png"}')
