"""Does dropout shrink the weights, like an L2 penalty? Measured on the overfitting nets.

The PyTorch dropout tutorial's second claim. This script trains exactly the nets of
``examples/overfitting.py`` (its data, model, seeds and training loop, imported from
there): 1-200-200-200-1 ReLU, inverted dropout p = 0 vs 0.5 after each hidden layer,
PyTorch's initialisation, full-batch SGD lr 0.01 momentum 0.9, 2000 steps, seeds 0-9.
Both nets of a seed start from the same weights. For each of the four Linear layers
it reports, over the seeds, the weight ``W`` (shape ``(in, out)``) by

- ``||W||_F``, the Frobenius norm (what an L2 penalty ``lambda * ||W||_F**2`` pulls on);
- the mean column norm, mean over output units j of ``||W[:, j]||``, the length of a
  unit's incoming weight vector (the vector max-norm bounds);
- ``||W - W0||_F``, how far training moved the weights from their initial ``W0``;

and the same at initialisation as the baseline. Inverted dropout uses the trained
weights unscaled at test time, so the two nets' weights are directly comparable.

The script prints one table: per layer and net (init, p = 0, p = 0.5), each measure
as mean ± sample sd over the seeds, and on how many seeds the dropout net's ``||W||_F``
is below the plain net's (a paired comparison); then the same for the product of the
four layers' ``||W||_F``. Results: docs/EXAMPLES.md (the table over seeds 0-9 and what
it shows: dropout ends with a smaller output layer and a smaller product of the norms,
but with larger hidden layers, so it does not act like weight decay on every layer).

The exact theory, for a linear model with inverted input dropout (Srivastava et al.
2014, section 9.1; Wager, Wang & Liang 2013): with inputs ``x`` (n, d), weights ``w``
(d,), targets ``y`` and keep-masks ``m_ij ~ Bernoulli(1 - p)``, the prediction
``sum_j x_ij m_ij w_j / (1 - p)`` has mean ``x_i . w`` and variance
``p / (1 - p) * sum_j x_ij**2 w_j**2``, so

    E_m[ sum_i (y_i - sum_j x_ij m_ij w_j / (1-p))**2 ]
        = sum_i (y_i - x_i . w)**2  +  p / (1-p) * sum_j w_j**2 * sum_i x_ij**2 ,

the plain loss plus an L2 penalty on each weight scaled by its feature's energy
(``tests/docs/test_weight_shrinkage.py`` checks it exactly by enumerating every mask). In
this net dropout acts on hidden units, so the identity holds for the last layer given
the thinned activations ``h`` below it: the penalty is ``p/(1-p) sum_j w_j**2 sum_i
h_ij**2``. That is a penalty on the product of a weight and its input's size, not on
either alone. Indeed scaling one ReLU layer's weights and bias by c > 0 and the next
layer's weights by 1/c changes no thinned network's output (ReLU and the masks commute
with the scaling), so it leaves the whole expected dropout loss unchanged, and with it
the product of the layers' norms, while any one layer's norm changes freely. The
penalty cannot prefer one such balance of the layers over another; where SGD ends is
up to the training dynamics, and the table measures it.

Run::

    python examples/weight_shrinkage.py                      # table over seeds 0-9
    python examples/weight_shrinkage.py --plot weights.png   # norms and histograms

The plot: on top the three measures per layer (bars of mean ± sd over the seeds, init
and both nets); below, one panel per layer with the histograms of its weights pooled
over the seeds, initial and both nets' overlaid (log counts). float32 throughout.
"""

import numpy as np

import overfitting  # a script's own directory is on sys.path; the tests add examples/
from minigrad import nn

MEASURES = {"frobenius": "||W||_F", "mean_column": "mean ||W[:, j]||",
            "moved": "||W - W0||_F"}


def linear_weights(model):
    """The weight arrays of the model's Linear layers, input layer first."""
    return [m.weight.data for m in model.modules() if isinstance(m, nn.Linear)]


def initial_weights(seed):
    """Seed ``seed``'s initial Linear weights, shared by its two nets."""
    return linear_weights(overfitting.initial_model(0.0, seed, init="torch"))


def norms(weight, initial):
    """The three measures of one layer (float64): ``{measure: value}``, see MEASURES."""
    w, w0 = weight.astype(np.float64), initial.astype(np.float64)
    return {"frobenius": float(np.linalg.norm(w)),
            "mean_column": float(np.linalg.norm(w, axis=0).mean()),
            "moved": float(np.linalg.norm(w - w0))}


def measure(seeds=10, iterations=2000):
    """Train the overfitting nets; return their results and the norms of every layer.

    Returns:
        ``results``, as ``overfitting.run`` returns them, and ``records``: one dict per
        seed, ``{net: [norms of layer 0, norms of layer 1, ...]}`` with ``net`` the
        string ``"init"`` (the shared initial weights) or a dropout probability.
    """
    results = overfitting.run(seeds=seeds, iterations=iterations, init="torch")
    records = []
    for seed, (_, fits) in enumerate(results):
        start = initial_weights(seed)
        record = {"init": [norms(w0, w0) for w0 in start]}
        for p, fit in fits.items():
            record[p] = [norms(w, w0) for w, w0 in zip(linear_weights(fit.model), start)]
        records.append(record)
    return results, records


def layer_names(model):
    """``L1 1->200``, ...: each Linear layer's position and sizes."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return [f"L{i} {m.in_features}->{m.out_features}" for i, m in enumerate(linears, 1)]


def net_label(net):
    return "init" if net == "init" else f"p={net}"


def frobenius_product(layers):
    """The product of the layers' ``||W||_F``: unchanged when one ReLU layer's weights are
    scaled by c > 0 and the next one's by 1/c (the rescaling the module docstring says
    dropout's penalty cannot see), unlike any single layer's norm."""
    return float(np.prod([layer["frobenius"] for layer in layers]))


def table(results, records):
    """Per layer and net, each measure as mean ± sd over seeds (sample sd, ddof=1), and in
    the last column, seed by seed, on how many seeds dropout's ``||W||_F`` is the smaller
    one; then the same for the product of the layers' ``||W||_F``."""
    def cell(values):
        s = overfitting.spread(values)
        return overfitting.format_spread(s, extremes=False) + (
            f" ({s.diverged} diverged)" if 0 < s.diverged < s.runs else "")

    plain, dropped = overfitting.P_VALUES
    names = layer_names(results[0][1][plain].model)
    # per seed: {net: [{measure: value} per layer, then {"frobenius": product}]}
    rows = [{net: layers + [{"frobenius": frobenius_product(layers)}]
             for net, layers in r.items()} for r in records]
    lines = [f"{'layer':<12}{'net':<7}" + "".join(f"{label:>20}" for label in MEASURES.values())
             + f"{f'p={dropped} smaller':>14}"]
    for layer, name in enumerate(names + ["product"]):
        smaller = sum(r[dropped][layer]["frobenius"] < r[plain][layer]["frobenius"] for r in rows)
        for net in rows[0]:
            cells = [cell([r[net][layer][m] for r in rows]) if m in rows[0][net][layer] else ""
                     for m in MEASURES]
            count = f"{smaller}/{len(rows)}" if net == dropped else ""
            lines.append((f"{name:<12}{net_label(net):<7}" + "".join(f"{c:>20}" for c in cells)
                          + f"{count:>14}").rstrip())
    return "\n".join(lines)


def plot(results, records, path):
    """Norms per layer (top) and each layer's weight histogram over all seeds (bottom).

    Returns False without matplotlib.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = layer_names(results[0][1][overfitting.P_VALUES[0]].model)
    nets = list(records[0])
    fig = plt.figure(figsize=(13, 7))
    grid = fig.add_gridspec(2, 12)
    for k, (measure_name, label) in enumerate(MEASURES.items()):
        ax = fig.add_subplot(grid[0, 4 * k:4 * k + 4])
        width = 0.8 / len(nets)
        for i, net in enumerate(nets):
            values = np.array([[r[net][layer][measure_name] for layer in range(len(names))]
                               for r in records])
            ax.bar(np.arange(len(names)) + (i - (len(nets) - 1) / 2) * width,
                   np.nanmean(values, axis=0), width,
                   yerr=np.nanstd(values, axis=0, ddof=1) if len(records) > 1 else None,
                   label=net_label(net), capsize=2)
        ax.set_xticks(np.arange(len(names)), [name.replace(" ", "\n") for name in names])
        ax.set_title(f"{label} (mean ± sd over {len(records)} seeds)", fontsize=9)
        if k == 0:
            ax.legend(fontsize=8)
    starts = [initial_weights(seed) for seed in range(len(results))]
    for layer, name in enumerate(names):
        ax = fig.add_subplot(grid[1, 3 * layer:3 * layer + 3])
        pooled = {"init": np.concatenate([s[layer].ravel() for s in starts])}
        for p in overfitting.P_VALUES:
            pooled[p] = np.concatenate([linear_weights(fits[p].model)[layer].ravel()
                                        for _, fits in results])
        finite = np.concatenate([v[np.isfinite(v)] for v in pooled.values()])
        bins = np.linspace(finite.min(), finite.max(), 40)
        for net, values in pooled.items():
            ax.hist(values[np.isfinite(values)], bins=bins, histtype="step",
                    label=net_label(net))
        ax.set_yscale("log")
        ax.set_title(f"{name}: weights of all seeds", fontsize=9)
        ax.set_xlabel("weight")
        if layer == 0:
            ax.set_ylabel("count")
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main(argv=None):
    parser = overfitting.experiment_parser(__doc__.splitlines()[0],
                                           "save norms and weight histograms")
    args = parser.parse_args(argv)
    results, records = measure(seeds=args.seeds, iterations=args.iterations)
    print(f"{overfitting.seed_range(args.seeds)}, {args.iterations} full-batch SGD steps, "
          "init='torch', float32; mean ± sd over seeds")
    print(table(results, records))
    if args.plot:
        if plot(results, records, args.plot):
            print(f"plot saved to {args.plot}")
        else:
            print("note: matplotlib is not installed; no plot saved (pip install matplotlib)")
    return results, records


if __name__ == "__main__":
    main()
