"""Dropout against overfitting: the PyTorch dropout tutorial's experiment, as written.

The experiment: ten training points on a straight line, ``x = linspace(-1, 1, 10)``,
``y = 1.5 x + N(0, 0.5**2)``, and ten test points at the same x with fresh noise
``N(0, 0.3**2)``. The model, 1-200-200-200-1 with ReLU units, has about 80,000 weights:
far more than it needs to pass through all ten training points, noise included. Two
nets are trained, one with inverted dropout p = 0 (plain) and one with p = 0.5 after
each hidden ReLU, by full-batch SGD (lr 0.01, momentum 0.9, 2000 steps) on the mean
squared error, from PyTorch's ``nn.Linear`` initialisation (``init="torch"``: weights
and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))). Both MSEs are measured in eval mode
(dropout off), i.e. for the network one would deploy.

Seeds: seed ``s`` is split by ``np.random.SeedSequence(s).spawn(3)`` into three
independent Generators: the data noise, the initial weights and the dropout masks.
Both nets of a seed are built from fresh copies of the same streams, so they see the
same data and start from the same weights; only dropout differs (a paired comparison).
``--seeds N`` runs seeds 0 .. N-1.

The script prints one table: for each net, on how many seeds training diverged, and
the train and test MSE as mean ± sample sd [min, max] over the seeds; the true line's
MSEs on the same points, for scale; and on how many seeds p = 0.5 has the lower test
MSE. With the defaults, dropout has the higher training MSE (the plain net memorises the
training noise) and the lower test MSE on average.

Why the port used to produce NaN: it used minigrad's former default, He init
(``--init he``: weights N(0, 2/fan_in), biases 0), whose weights are sqrt(6) = 2.4 times
PyTorch's in standard deviation. With it the dropout net's loss overflows to inf/NaN
within the first few steps (the table then counts the seeds as diverged), while the
plain net trains. PyTorch does the same from these He weights, with its own masks
(``tests/docs/test_example_overfitting.py`` checks seed 0). So the tutorial "trains fine in
PyTorch" because of PyTorch's initialisation, not of anything minigrad's dropout does
differently; with ``init="torch"`` minigrad trains it fine too, and minigrad's losses
match PyTorch's step for step (the same test file compares 50 steps from the same
weights).

Results: docs/EXAMPLES.md (the table over seeds 0-9, what it shows, and the step counts
of the He-init divergence).

Run::

    python examples/overfitting.py                      # table over seeds 0-9 (~45 s)
    python examples/overfitting.py --plot fits.png      # also plot seed 0's fits
    python examples/overfitting.py --seeds 3 --iterations 500 --init he

The plot shows seed 0: its training points, test points, the true line and both nets'
eval-mode fits. On a shared 2-core machine set ``MINIGRAD_NUM_THREADS=1``: for these
10 x 200 matrices one thread is as fast, and two threads beside another busy process
were much slower, waiting for each other (docs/EXAMPLES.md).
"""
import argparse
import os
import sys
from collections import namedtuple

import numpy as np

try:
    import minigrad
except ImportError:  # run from a source checkout without installing: use the checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import minigrad
from minigrad import nn, optim  # noqa: E402
from minigrad.checks import check_int  # noqa: E402

SLOPE, TRAIN_SD, TEST_SD, N_POINTS = 1.5, 0.5, 0.3, 10
P_VALUES = (0.0, 0.5)

Data = namedtuple("Data", "x y_train y_test")
Fit = namedtuple("Fit", "model train_mse test_mse")
Spread = namedtuple("Spread", "mean sd min max diverged runs")


def seed_generators(seed):
    """Seed ``seed``'s three independent Generators: (data noise, initial weights, masks)."""
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))


def make_data(rng):
    """x = linspace(-1, 1, 10); y_train = 1.5 x + N(0, 0.5**2); y_test = 1.5 x + N(0, 0.3**2).

    Every array has shape (10, 1); the training noise is drawn before the test noise.
    """
    x = np.linspace(-1.0, 1.0, N_POINTS)[:, None]
    y_train = SLOPE * x + rng.normal(0.0, TRAIN_SD, size=x.shape)
    y_test = SLOPE * x + rng.normal(0.0, TEST_SD, size=x.shape)
    return Data(*(a.astype(np.float32) for a in (x, y_train, y_test)))


def make_model(p, init_rng, mask_rng, init="torch", hidden=200, depth=3):
    """1-hidden-...-hidden-1 ReLU MLP with inverted ``Dropout(p)`` after every hidden ReLU.

    The Linear layers draw their weights from ``init_rng`` in order, so two models made
    from equal ``init_rng`` states start identical whatever ``p`` is; the Dropout layers
    share ``mask_rng``.
    """
    layers, width = [], 1
    for _ in range(depth):
        layers += [nn.Linear(width, hidden, init=init, rng=init_rng), nn.ReLU(),
                   nn.Dropout(p, mode="inverted", rng=mask_rng)]
        width = hidden
    layers.append(nn.Linear(width, 1, init=init, rng=init_rng))
    return nn.Sequential(*layers)


def initial_model(p, seed, init="torch"):
    """Seed ``seed``'s untrained model with dropout ``p`` (the same weights for every p)."""
    _, init_rng, mask_rng = seed_generators(seed)
    return make_model(p, init_rng, mask_rng, init=init)


def train(model, x, y, iterations=2000, lr=0.01, momentum=0.9):
    """Full-batch SGD on the MSE, in training mode; return the loss before each step."""
    opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    xt, yt = minigrad.tensor(x), minigrad.tensor(y)
    model.train()
    losses = []
    for _ in range(iterations):
        opt.zero_grad()
        loss = minigrad.mse_loss(model(xt), yt)
        loss.backward()
        opt.step()
        losses.append(float(loss.data))
    return losses


def mse(model, x, y):
    """Mean squared error of the model in eval mode (dropout off), accumulated in float64."""
    model.eval()
    with minigrad.no_grad():
        err = model(minigrad.tensor(x)).data - y
    return float(np.mean(err.astype(np.float64) ** 2))


def run_seed(seed, iterations=2000, init="torch"):
    """Train one net per dropout probability on seed ``seed``'s data; return (Data, {p: Fit})."""
    data = make_data(seed_generators(seed)[0])
    fits = {}
    for p in P_VALUES:
        model = initial_model(p, seed, init=init)
        train(model, data.x, data.y_train, iterations=iterations)
        fits[p] = Fit(model, mse(model, data.x, data.y_train), mse(model, data.x, data.y_test))
    return data, fits


def true_line_mse(data):
    """(train, test) MSE of the true line y = 1.5 x: the noise each set carries."""
    return tuple(float(np.mean((y.astype(np.float64) - SLOPE * data.x) ** 2))
                 for y in (data.y_train, data.y_test))


def seed_range(seeds):
    """How a report names the seeds 0 .. seeds-1."""
    return "seed 0" if seeds == 1 else f"seeds 0-{seeds - 1}"


def run(seeds=10, iterations=2000, init="torch"):
    """``run_seed`` for seeds 0 .. seeds-1: a list of (Data, {p: Fit})."""
    return [run_seed(seed, iterations=iterations, init=init) for seed in range(seeds)]


def spread(values):
    """Mean, sample sd (ddof=1; NaN for one value), min and max of the finite values.

    Non-finite values (diverged runs) are counted in ``diverged``, not averaged: one
    NaN would otherwise hide what the other runs did, and dropping it silently would
    hide the divergence.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    diverged = len(values) - len(finite)
    if len(finite) == 0:
        return Spread(np.nan, np.nan, np.nan, np.nan, diverged, len(values))
    sd = float(np.std(finite, ddof=1)) if len(finite) > 1 else np.nan
    return Spread(float(finite.mean()), sd, float(finite.min()), float(finite.max()),
                  diverged, len(values))


def number(v):
    """``v`` to four decimals; below 1e-3 in exponent form (a memorised training set has an
    MSE of 1e-6, not "0.0000"); "n/a" for NaN (the sd of one value)."""
    return "n/a" if np.isnan(v) else f"{v:.4f}" if v >= 1e-3 or v == 0 else f"{v:.1e}"


def format_spread(s, extremes=True):
    """``mean ± sd [min, max]`` of a Spread (without the range if not ``extremes``)."""
    if s.diverged == s.runs:
        return "(all diverged)"
    text = f"{number(s.mean)} ± {number(s.sd)}"
    return text + (f" [{number(s.min)}, {number(s.max)}]" if extremes else "")


def table(results):
    """The report: per net, train and test MSE over the seeds; the true line for scale."""
    def row(label, diverged, train_values, test_values):
        return (f"{label:<14}{diverged:>8}  {format_spread(spread(train_values)):<38}"
                f"{format_spread(spread(test_values))}")

    lines = [f"{'net':<14}{'diverged':>8}  {'train MSE: mean ± sd [min, max]':<38}"
             "test MSE: mean ± sd [min, max]"]
    for p in P_VALUES:
        train_mse = [fits[p].train_mse for _, fits in results]
        test_mse = [fits[p].test_mse for _, fits in results]
        diverged = sum(not (np.isfinite(a) and np.isfinite(b)) for a, b in zip(train_mse, test_mse))
        lines.append(row(f"dropout p={p}", f"{diverged}/{len(results)}", train_mse, test_mse))
    lines.append(row("true line", "", *zip(*(true_line_mse(data) for data, _ in results))))
    plain, dropped = P_VALUES
    wins = sum(fits[dropped].test_mse < fits[plain].test_mse for _, fits in results)
    lines.append(f"p={dropped} has the lower test MSE on {wins} of {len(results)} seeds "
                 f"(noise variances: train {TRAIN_SD ** 2:.2f}, test {TEST_SD ** 2:.2f})")
    return "\n".join(lines)


def plot(results, path, seed=0):
    """Save seed ``seed``'s data, the true line and both eval-mode fits to ``path``.

    Returns False (and saves nothing) when matplotlib is not installed.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    data, fits = results[seed]
    grid = np.linspace(-1, 1, 400, dtype=np.float32)[:, None]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(data.x[:, 0], data.y_train[:, 0], color="black", zorder=3,
               label=f"training points (noise sd {TRAIN_SD})")
    ax.scatter(data.x[:, 0], data.y_test[:, 0], color="black", marker="x", zorder=3,
               label=f"test points (noise sd {TEST_SD})")
    ax.plot(grid[:, 0], SLOPE * grid[:, 0], "k:", label=f"true line y = {SLOPE}x")
    for p, fit in fits.items():
        fit.model.eval()
        with minigrad.no_grad():
            pred = fit.model(minigrad.tensor(grid)).data[:, 0]
        ax.plot(grid[:, 0], pred, label=f"dropout p={p} (test MSE {fit.test_mse:.3f})")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"seed {seed}: fits in eval mode")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _positive_int(text):
    """The argparse type of ``--seeds`` and ``--iterations``: an int >= 1."""
    value = int(text)  # not an int: argparse says "invalid _positive_int value"
    try:
        return check_int(None, value, minimum=1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def experiment_parser(description, plot_help):
    """The flags this experiment shares with weight_shrinkage.py: --seeds, --iterations, --plot."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=_positive_int, default=10, help="run seeds 0 .. N-1")
    parser.add_argument("--iterations", type=_positive_int, default=2000)
    parser.add_argument("--plot", metavar="PATH", help=plot_help)
    return parser


def main(argv=None):
    parser = experiment_parser(__doc__.splitlines()[0], "save a plot of seed 0's two fits")
    parser.add_argument("--init", choices=("torch", "he"), default="torch")
    args = parser.parse_args(argv)
    results = run(seeds=args.seeds, iterations=args.iterations, init=args.init)
    print(f"{seed_range(args.seeds)}, {args.iterations} full-batch SGD steps, "
          f"init={args.init!r}, float32, {minigrad.get_backend()} kernels on "
          f"{minigrad.get_num_threads()} thread(s)")
    print(table(results))
    if args.plot:
        if plot(results, args.plot):
            print(f"plot of seed 0 saved to {args.plot}")
        else:
            print("note: matplotlib is not installed; no plot saved (pip install matplotlib)")
    return results


if __name__ == "__main__":
    main()
