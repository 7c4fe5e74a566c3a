"""Monte Carlo dropout on a trained net: test error against the number of samples, and OOD detection.

Two measurements of a network trained by ``bench/mnist_paper.py`` (its run directory
holds ``checkpoint.npz``):

``samples``: Srivastava et al. (JMLR 2014, section 7.5 and Figure 11) compare the
weight-scaling rule (one pass of the full network, here the inverted-dropout network in
eval mode) with the Monte Carlo model average: the class probabilities of k thinned
networks, averaged, then the most probable class. The script draws ``max(--k)`` passes
per repeat, scores the average of the first k for every k asked, and repeats with fresh
masks (``--repeats``) for the spread. Output: a table (mean and sample sd over repeats)
and a plot of test error against k with the weight-scaling error as a line.

``ood``: Gal & Ghahramani (2016) read the disagreement of the thinned networks as model
uncertainty. The net scores the test images of its own dataset (in distribution) and of
another (``--ood``, Fashion-MNIST for an MNIST net); each score's AUROC says how well it
tells them apart (``minigrad.nn.auroc``): the MC predictive entropy, the mutual
information (BALD), the variation ratio and one minus the MC mean's top probability,
against the weight-scaled net's one minus maximum softmax probability (the baseline of
Hendrycks & Gimpel 2017) and its entropy. Repeats give the MC scores' spread.

Usage (from the repository root, kernels built; ``MINIGRAD_BENCH_SOURCE=1`` for the
source tree, as for every bench script)::

    python bench/mc_dropout_eval.py samples runs/family/mnist-2x1024-dropout-maxnorm
    python bench/mc_dropout_eval.py ood runs/family/mnist-2x1024-dropout-maxnorm --ood fashion-mnist

Both write Markdown, JSON (and the plot) into ``--out`` (default docs/results/mc-dropout).
"""
import argparse
import json
import os
import shlex
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import figures  # noqa: E402
from which_minigrad import describe, import_minigrad  # noqa: E402

minigrad = import_minigrad()
from minigrad import nn  # noqa: E402
from minigrad.checkpoint import load_checkpoint, read_checkpoint_metadata  # noqa: E402
from minigrad.kernels import backend  # noqa: E402
from minigrad.ops.softmax import stable_log_softmax  # noqa: E402
from minigrad.training import TrainConfig, build_model, evaluate, make_generators  # noqa: E402

DEFAULT_K = (1, 2, 5, 10, 20, 50, 100)
DEFAULT_OUT = os.path.join(ROOT, "docs", "results", "mc-dropout")


def load_run(path, in_features, classes):
    """``(model, metadata)`` of the checkpoint ``path``, rebuilt from its config."""
    metadata = read_checkpoint_metadata(path)
    config = TrainConfig.from_dict(metadata["config"])
    init_rng, dropout_rng, _ = make_generators(config.seed)
    model = build_model(config, in_features, classes, init_rng, dropout_rng)
    load_checkpoint(path, model)
    return model.eval(), metadata


def reseed(model, seed):
    """Give every noise layer of ``model`` one fresh Generator seeded with ``seed``."""
    generator = np.random.default_rng(seed)
    for layer in model.modules():
        if layer.stochastic:
            layer.rng = generator


def weight_scaled_probabilities(model, x, batch=2000):
    """Softmax of the eval-mode network (the weight-scaling rule), (N, C) float64."""
    logits = np.concatenate([model(minigrad.tensor(x[i:i + batch])).data
                             for i in range(0, len(x), batch)])
    return np.exp(stable_log_softmax(logits.astype(np.float64), axis=-1))


def mc_probabilities(model, x, samples, seed, batch=2000):
    """``(samples, N, C)`` class probabilities of thinned networks, masks from ``seed``."""
    reseed(model, seed)
    return np.concatenate([nn.mc_class_probabilities(model, minigrad.tensor(x[i:i + batch]),
                                                     samples=samples)
                           for i in range(0, len(x), batch)], axis=1)


def error_by_samples(model, x, y, ks, repeats, seed=0):
    """``{k: [test error of the k-pass average, one per repeat]}`` (fractions)."""
    errors = {k: [] for k in ks}
    for r in range(repeats):
        cumulative = np.cumsum(mc_probabilities(model, x, max(ks), seed + r), axis=0)
        for k in ks:
            errors[k].append(float(np.mean(cumulative[k - 1].argmax(axis=1) != y)))
    return errors


def weight_scaled_scores(model, x):
    """``{score name: (N,) scores}`` of the eval-mode net, larger meaning "less like the data"."""
    plain = weight_scaled_probabilities(model, x)
    return {"weight scaling: 1 - max softmax": 1 - plain.max(axis=1),
            # the entropy of one pass: predictive entropy with k = 1
            "weight scaling: entropy": nn.predictive_entropy(plain[None])}


def mc_scores(model, x, samples, seed):
    """``{score name: (N,) scores}`` of ``samples`` thinned networks with masks from ``seed``."""
    probs = mc_probabilities(model, x, samples, seed)
    return {"MC: 1 - max mean probability": 1 - nn.predictive_mean(probs).max(axis=1),
            "MC: predictive entropy": nn.predictive_entropy(probs),
            "MC: mutual information (BALD)": nn.mutual_information(probs),
            "MC: variation ratio": nn.variation_ratio(probs)}


def ood_scores(model, x, samples, seed):
    """Every score of :func:`weight_scaled_scores` and :func:`mc_scores`."""
    return {**weight_scaled_scores(model, x), **mc_scores(model, x, samples, seed)}


def ood_table(model, x_in, x_out, samples, repeats, seed=0):
    """``{score name: [AUROC per repeat]}``.

    The weight-scaling scores do not depend on the masks: they are computed once and
    their AUROC listed for every repeat; the MC scores are drawn afresh per repeat.
    """
    fixed_in, fixed_out = weight_scaled_scores(model, x_in), weight_scaled_scores(model, x_out)
    areas = {name: [nn.auroc(fixed_in[name], fixed_out[name])] * repeats for name in fixed_in}
    for r in range(repeats):
        s_in = mc_scores(model, x_in, samples, seed + r)
        s_out = mc_scores(model, x_out, samples, seed + r)
        for name in s_in:
            areas.setdefault(name, []).append(nn.auroc(s_in[name], s_out[name]))
    return areas


def _spread(values):
    values = np.asarray(values, dtype=np.float64)
    sd = values.std(ddof=1) if len(values) > 1 else float("nan")
    return values.mean(), sd


def cmd_samples(args, model, data, header):
    _, _, x_test, y_test = data
    started = time.time()
    plain = evaluate(model, x_test, y_test)
    errors = error_by_samples(model, x_test, y_test, args.k, args.repeats, args.seed)
    lines = header + [
        f"Weight scaling (one pass of the eval-mode net): **{100 * plain:.2f}%** test error.",
        "", f"Monte Carlo averages of k thinned networks, {args.repeats} repeats with fresh "
        f"masks (seeds {args.seed}..{args.seed + args.repeats - 1}):", "",
        "| k | MC test error, mean | sample sd | min | max |", "|---|---|---|---|---|"]
    for k in args.k:
        mean, sd = _spread(errors[k])
        lines.append(f"| {k} | {100 * mean:.2f}% | {100 * sd:.2f}% | "
                     f"{100 * min(errors[k]):.2f}% | {100 * max(errors[k]):.2f}% |")
    lines += ["", f"Measured in {time.time() - started:.0f} s."]
    write(args.out, "mc_vs_weight_scaling", lines,
          {"weight_scaling_error": plain, "mc_errors": {str(k): v for k, v in errors.items()},
           "repeats": args.repeats, "seed": args.seed})
    plot_samples(errors, plain, os.path.join(args.out, "mc_vs_weight_scaling.png"), header[0])


def cmd_ood(args, model, data, header):
    from minigrad.data import load_dataset
    x_out = load_dataset(args.ood).x_test
    started = time.time()
    areas = ood_table(model, data[2], x_out, args.samples, args.repeats, args.seed)
    lines = header + [
        f"In distribution: the {len(data[2])} test images of the training dataset; out of "
        f"distribution: the {len(x_out)} test images of {args.ood}. MC scores from "
        f"k = {args.samples} passes, {args.repeats} repeats with fresh masks.", "",
        "| score (larger = flagged as OOD) | AUROC, mean | sample sd |", "|---|---|---|"]
    for name, values in areas.items():
        mean, sd = _spread(values)
        spread = "- (deterministic)" if name.startswith("weight") else f"{sd:.4f}"
        lines.append(f"| {name} | **{mean:.4f}** | {spread} |")
    lines += ["", f"Measured in {time.time() - started:.0f} s."]
    write(args.out, f"ood_{args.ood}", lines, {"auroc": areas, "samples": args.samples,
                                               "repeats": args.repeats, "ood": args.ood})


def write(out, stem, lines, payload):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, stem + ".md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, stem + ".json"), "w") as f:
        json.dump(payload, f, indent=1)
    print("\n".join(lines))


def plot_samples(errors, plain, path, title):
    plt = figures.pyplot()
    if plt is None:
        return
    ks = sorted(errors)
    means = [100 * np.mean(errors[k]) for k in ks]
    sds = [100 * np.std(errors[k], ddof=1) if len(errors[k]) > 1 else 0 for k in ks]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(ks, means, yerr=sds, marker="o", capsize=3,
                label="Monte Carlo model averaging (mean ± sd over repeats)")
    ax.axhline(100 * plain, color="k", ls="--", label="weight scaling (one pass)")
    ax.set(xscale="log", xlabel="number of sampled networks k", ylabel="test error (%)",
           title=title)
    figures.save(plt, fig, [ax], path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("samples", "ood"):
        p = sub.add_parser(name)
        p.add_argument("run_dir", help="a bench/mnist_paper.py run directory (checkpoint.npz)")
        p.add_argument("--repeats", type=int, default=5 if name == "samples" else 3)
        p.add_argument("--seed", type=int, default=0, help="mask seed of the first repeat")
        p.add_argument("--threads", type=int, default=None)
        p.add_argument("--out", default=DEFAULT_OUT)
    sub.choices["samples"].add_argument("--k", type=int, nargs="+", default=list(DEFAULT_K))
    sub.choices["ood"].add_argument("--samples", type=int, default=100)
    sub.choices["ood"].add_argument("--ood", default="fashion-mnist")
    args = parser.parse_args(argv)
    if args.threads is not None:
        backend.set_num_threads(args.threads)
    from minigrad.data import load_dataset
    path = os.path.join(args.run_dir, "checkpoint.npz")
    dataset = read_checkpoint_metadata(path)["run"]["dataset"]
    data = load_dataset(dataset)
    model, metadata = load_run(path, data.x_train.shape[1], int(data.y_train.max()) + 1)
    config = metadata["config"]
    command = "python bench/mc_dropout_eval.py " + " ".join(shlex.quote(a) for a in
                                                            (argv or sys.argv[1:]))
    run_name = os.path.basename(os.path.normpath(args.run_dir))
    header = [f"{run_name}, {dataset}, {metadata['epoch']} epochs, seed {config['seed']}",
              "", f"Command: `{command}`", "", f"{describe(minigrad)}", "",
              f"Network: {data.x_train.shape[1]}-{'-'.join(map(str, config['hidden']))}-"
              f"{int(data.y_train.max()) + 1}, dropout "
              f"{config['p_input']}/{config['p_hidden']} ({config.get('dropout_kind', 'bernoulli')}"
              f", {config['dropout_mode']}), max-norm {config['max_norm']}.", ""]
    (cmd_samples if args.command == "samples" else cmd_ood)(args, model, data, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
