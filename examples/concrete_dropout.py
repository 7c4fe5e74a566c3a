"""Concrete dropout on MNIST: a ReLU MLP that learns the drop probability of every layer.

Gal, Hron & Kendall (NeurIPS 2017), section 5: an MLP whose every Linear layer (the
input layer and each hidden layer) is wrapped in ``nn.ConcreteDropout``, so each layer's
input is dropped with its own learned ``p``. Trained by minibatch SGD with momentum on

    loss = cross_entropy(model(x), y) + concrete_dropout_regularization(model),

the regulariser's strengths from ``nn.regularizer_strengths(N, length_scale)`` with N the
training-set size (the paper's ``l**2 / N`` and ``2 / N``). Every p starts at 0.1 (the
authors' default). After each epoch the script prints the mean training loss (with and
without the regulariser, which is negative when its entropy term dominates), each layer's
learned p and the test error of the eval-mode net (dropout off).

Run::

    python examples/concrete_dropout.py                               # 784-1024-1024-10
    python examples/concrete_dropout.py --epochs 3 --train-size 10000 --hidden 256 256

MNIST is read from disk or downloaded (``minigrad.data.load_mnist``); ``--train-size n``
trains on the first n training images (and sets N = n in the regulariser). Results:
docs/EXAMPLES.md.
"""
import argparse
import os
import sys
import time

import numpy as np

try:
    import minigrad
except ImportError:  # run from a source checkout without installing: use the checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import minigrad
from minigrad import nn, optim  # noqa: E402
from minigrad.data import iterate_minibatches, load_mnist  # noqa: E402


def build_model(sizes, n_train, length_scale=1e-2, temperature=0.1, seed=0):
    """``sizes[0] -> ... -> sizes[-1]`` ReLU MLP, every Linear wrapped in ConcreteDropout.

    The regulariser's strengths are the paper's for N = ``n_train``
    (``nn.regularizer_strengths``). Returns the ``nn.Sequential``.
    """
    rng = np.random.default_rng(seed)
    wd, dd = nn.regularizer_strengths(n_train, length_scale)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.ConcreteDropout(nn.Linear(n_in, n_out, rng=rng), wd, dd,
                                         temperature=temperature, rng=rng))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def drop_probabilities(model):
    """The learned p of each ConcreteDropout layer, input layer first."""
    return [m.p for m in model.modules() if isinstance(m, nn.ConcreteDropout)]


def error_rate(model, x, y, batch_size=1000):
    """Fraction of misclassified examples by the eval-mode model."""
    model.eval()
    wrong = 0
    with minigrad.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(minigrad.tensor(x[start:start + batch_size])).data
            wrong += int((logits.argmax(axis=1) != y[start:start + batch_size]).sum())
    return wrong / len(x)


def train(data, hidden=(1024, 1024), epochs=10, batch_size=128, lr=0.05, momentum=0.9,
          length_scale=1e-2, seed=0, log=print):
    """Train the concrete-dropout MLP on ``data = (x_train, y_train, x_test, y_test)``.

    Returns ``(model, history)``: ``history`` has one dict per epoch with the mean over
    the epoch's batches of the training loss (``loss``: cross-entropy plus regulariser)
    and of its cross-entropy alone (``data_loss``), the layers' p after the epoch, the
    test error and the epoch's seconds. ``history[0]`` describes the untrained model
    (its losses are those of the first batch, before any step).
    """
    x_train, y_train, x_test, y_test = data
    sizes = [x_train.shape[1], *hidden, int(y_train.max()) + 1]
    model = build_model(sizes, len(x_train), length_scale, seed=seed)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    data_loss, loss = losses_of(model.train(), x_train[:batch_size], y_train[:batch_size])
    history = [{"epoch": 0, "loss": loss.item(), "data_loss": data_loss.item(),
                "p": drop_probabilities(model),
                "test_error": error_rate(model, x_test, y_test), "seconds": 0.0}]
    log(format_epoch(history[-1]))
    for epoch in range(1, epochs + 1):
        start, losses = time.perf_counter(), []
        model.train()
        for xb, yb in iterate_minibatches(x_train, y_train, batch_size, rng=seed * 1000 + epoch):
            opt.zero_grad()
            data_loss, loss = losses_of(model, xb, yb)
            loss.backward()
            opt.step()
            losses.append((loss.item(), data_loss.item()))
        mean_loss, mean_data_loss = np.mean(losses, axis=0)
        history.append({"epoch": epoch, "loss": float(mean_loss),
                        "data_loss": float(mean_data_loss), "p": drop_probabilities(model),
                        "test_error": error_rate(model, x_test, y_test),
                        "seconds": time.perf_counter() - start})
        log(format_epoch(history[-1]))
    return model, history


def losses_of(model, xb, yb):
    """``(cross-entropy, cross-entropy + regulariser)`` of one batch; the second is minimised."""
    data_loss = minigrad.cross_entropy(model(minigrad.tensor(xb)), yb)
    return data_loss, data_loss + nn.concrete_dropout_regularization(model)


def format_epoch(record):
    ps = " ".join(f"{p:.4f}" for p in record["p"])
    return (f"epoch {record['epoch']:3d}  loss {record['loss']:.4f}  "
            f"cross-entropy {record['data_loss']:.4f}  p [{ps}]  "
            f"test error {100 * record['test_error']:.2f}%  ({record['seconds']:.1f} s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-size", type=int, default=60000,
                        help="train on the first n training images (N in the regulariser)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[1024, 1024])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--length-scale", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    x_train, y_train, x_test, y_test = load_mnist()
    data = (x_train[:args.train_size], y_train[:args.train_size], x_test, y_test)
    print(f"MNIST, {len(data[0])} training images, MLP "
          f"{'-'.join(map(str, [784, *args.hidden, 10]))}, ConcreteDropout on every "
          f"layer's input, length-scale {args.length_scale}, SGD lr {args.lr} momentum 0.9")
    return train(data, args.hidden, args.epochs, args.batch_size, args.lr,
                 length_scale=args.length_scale, seed=args.seed)


if __name__ == "__main__":
    main()
