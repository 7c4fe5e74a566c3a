"""Dropout against overfitting: a big MLP on 10 noisy points of a straight line.

The data are ``y = 1.5 x + noise`` (Gaussian noise, sd 0.5), with only 10 training
points drawn uniformly on [-1, 1]. The model, 1-200-200-200-1 with ReLU units, has
about 80,000 weights: far more than it needs to pass through all 10 points, noise
included. Trained by full-batch SGD (lr 0.01, momentum 0.9, 2000 iterations) it does
just that, and its wiggly fit generalises badly to fresh points from the same line.

Dropout (p = 0.5 after every hidden ReLU) trains a different random thinned network
at every step, so no unit can rely on a particular set of co-adapted partners to
memorise one point (Srivastava et al., JMLR 2014, section 2). The script measures,
rather than assumes, what that buys here. With the default seeds (numpy kernels):

    model          train MSE   test MSE
    dropout p=0.0     0.0070     0.3454
    dropout p=0.5     0.1834     0.3451

- Without dropout the net memorises the noise: training MSE 0.007, far below the
  noise variance 0.25 (the best any model can do on fresh points).
- With dropout it cannot: training MSE 0.18, 26 times higher.
- But on this problem that does NOT buy a clearly better test error: 0.3451 against
  0.3454 is a tie. (At 300 or 1000 iterations instead of 2000 the dropout net is even
  slightly worse on the test points: 0.306 vs 0.302 and 0.373 vs 0.323.) Both test
  errors stay well above the noise floor 0.25. Dropout's test-error gains in the
  paper were measured on large data sets over many epochs, not on ten points.

Run::

    python examples/overfitting.py                  # prints the four MSEs
    python examples/overfitting.py --plot fits.png  # also saves a plot (needs matplotlib)

Both models start from the same weights (same seed); float32 throughout.

Why ``mode="weight_scaling"``: inverted dropout multiplies kept units by 1/(1-p) = 2 in
training, which with three dropout layers raises the effective step size of the layers
after them several-fold. At lr 0.01 and momentum 0.9 that diverges on this problem (the
loss reaches inf within six steps; measured). The paper's rule trains the unscaled
thinned networks and multiplies by 1-p at test time instead; both have the same
expected activations (``tests/test_nn_dropout.py``), only the step size differs.
"""
import argparse
import os
import sys

import numpy as np

try:
    import minigrad
except ImportError:  # run from a source checkout without installing: use the checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import minigrad
from minigrad import nn, optim  # noqa: E402

SLOPE, NOISE_SD = 1.5, 0.5


def make_data(n, rng):
    """``n`` points (x, y) with x ~ U[-1, 1] and y = 1.5 x + N(0, 0.5**2), shape (n, 1)."""
    x = rng.uniform(-1.0, 1.0, size=(n, 1))
    y = SLOPE * x + rng.normal(0.0, NOISE_SD, size=(n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def make_model(p, seed, hidden=200, depth=3):
    """1-hidden-...-hidden-1 ReLU MLP with Dropout(p) after every hidden layer.

    The dropout layers use the paper's weight-scaling rule, not inverted dropout: see
    the module docstring for why.
    """
    rng = np.random.default_rng(seed)
    layers, width = [], 1
    for _ in range(depth):
        layers += [nn.Linear(width, hidden, rng=rng), nn.ReLU(),
                   nn.Dropout(p, mode="weight_scaling", rng=rng)]
        width = hidden
    layers.append(nn.Linear(width, 1, rng=rng))
    return nn.Sequential(*layers)


def mse(model, x, y):
    """Mean squared error of the model in eval mode (dropout off)."""
    model.eval()
    with minigrad.no_grad():
        err = model(minigrad.tensor(x)).data - y
    return float(np.mean(err.astype(np.float64) ** 2))


def train(p, x, y, iterations=2000, lr=0.01, momentum=0.9, seed=0):
    """Train a fresh model with dropout probability ``p`` by full-batch SGD; return it."""
    model = make_model(p, seed)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    xt, yt = minigrad.tensor(x), minigrad.tensor(y)
    model.train()
    for _ in range(iterations):
        opt.zero_grad()
        minigrad.mse_loss(model(xt), yt).backward()
        opt.step()
    return model


def run(iterations=2000, n_train=10, n_test=1000, data_seed=1, model_seed=0):
    """Train without and with dropout; return {p: (model, train_mse, test_mse)} and the data."""
    rng = np.random.default_rng(data_seed)
    x_train, y_train = make_data(n_train, rng)
    x_test, y_test = make_data(n_test, rng)
    results = {}
    for p in (0.0, 0.5):
        model = train(p, x_train, y_train, iterations=iterations, seed=model_seed)
        results[p] = (model, mse(model, x_train, y_train), mse(model, x_test, y_test))
    return results, (x_train, y_train, x_test, y_test)


def plot(results, data, path):
    """Save the two fits over the training data to ``path``; False if matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    x_train, y_train, _, _ = data
    grid = np.linspace(-1, 1, 400, dtype=np.float32)[:, None]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(x_train[:, 0], y_train[:, 0], color="black", zorder=3, label="training data")
    ax.plot(grid[:, 0], SLOPE * grid[:, 0], "k:", label="true line y = 1.5x")
    for p, (model, _, test) in results.items():
        model.eval()
        with minigrad.no_grad():
            pred = model(minigrad.tensor(grid)).data[:, 0]
        ax.plot(grid[:, 0], pred, label=f"dropout p={p} (test MSE {test:.3f})")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--plot", metavar="PATH", help="save a plot of both fits")
    args = parser.parse_args(argv)
    results, data = run(iterations=args.iterations)
    print(f"{'model':<16}{'train MSE':>12}{'test MSE':>12}")
    for p, (_, train_mse, test_mse) in results.items():
        print(f"{'dropout p=' + str(p):<16}{train_mse:>12.4f}{test_mse:>12.4f}")
    print(f"(noise variance, the best possible test MSE: {NOISE_SD ** 2:.4f})")
    (_, train0, test0), (_, train5, test5) = results[0.0], results[0.5]
    print(f"dropout raises the training MSE {train5 / train0:.0f}-fold and changes the test "
          f"MSE by {100 * (test5 - test0) / test0:+.1f}%")
    if args.plot:
        if plot(results, data, args.plot):
            print(f"plot saved to {args.plot}")
        else:
            print("note: matplotlib is not installed; no plot saved (pip install matplotlib)")
    return results


if __name__ == "__main__":
    main()
