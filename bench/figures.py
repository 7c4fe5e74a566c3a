"""The two ends of every bench plot: get pyplot (or say why not), and save a finished figure."""


def pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend, or None (saying so) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is not installed (pip install 'minigrad[plot]')")
        return None
    return plt


def save(plt, fig, axes, path):
    """Grid and legend on each of ``axes``, then write ``fig`` to ``path`` and close it."""
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
