"""Choosing dropout rates with a sweep: a grid chosen on validation, reported on test.

Srivastava et al. (JMLR 2014, section 7.3, "Effect of dropout rate") train one network
at several retention probabilities to see which works; a sweep makes that a job. This
script does a small one with ``minigrad.sweep``'s Python API: input rates x hidden
rates x seeds, each trial trained on the first images of MNIST's training set with the
last ``validation`` of them held out, then

* the summary: mean, sd and count over the seeds of each grid point's final
  validation and test error;
* the choice, made on the validation error only (the test set would then no longer
  measure how the choice does on new data), and its test error reported.

Every trial is its own directory under ``--out``; run the script again and the
finished trials are skipped. The same sweep from the command line::

    minigrad sweep --train-subset 2000 --validation 500 --hidden 64 --epochs 2 \\
        --grid p_input=0,0.2 --grid p_hidden=0,0.5 --seeds 0 1 --out sweeps/rates

Run::

    python examples/sweep_dropout_rates.py [--out DIR] [--epochs 2]
"""
import argparse
import os
import sys
import tempfile

try:
    import minigrad.sweep
except ImportError:  # run from a source checkout without installing: use the checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import minigrad.sweep
import minigrad.sweep.summary
import minigrad.training_config


def dropout_rate_sweep(p_input=(0.0, 0.2), p_hidden=(0.0, 0.5), seeds=(0, 1), hidden=(64,),
                       epochs=2, train_subset=2000, validation=500):
    """The Sweep of input x hidden drop probabilities, times ``seeds``, on MNIST's first
    ``train_subset`` training images (the last ``validation`` of them held out)."""
    base = minigrad.training_config.TrainConfig(hidden=hidden, epochs=epochs, batch_size=50)
    return minigrad.sweep.Sweep({"p_input": list(p_input), "p_hidden": list(p_hidden)},
                                seeds=seeds, base=base, train_subset=train_subset,
                                validation=validation)


def run(sweep, out, workers=None):
    """Run ``sweep`` into ``out`` on a local pool; return ``(results, summary rows)``."""
    results = minigrad.sweep.run_sweep(sweep, out, workers=workers, progress=False)
    return results, minigrad.sweep.summarize(sweep, results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="the sweep directory (default: a temporary one)")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    sweep = dropout_rate_sweep(epochs=args.epochs)
    with tempfile.TemporaryDirectory() as scratch:
        results, rows = run(sweep, args.out or scratch)
    title = f"Dropout rates on {sweep.train_subset:,} MNIST images"
    print(minigrad.sweep.summary.render_markdown(sweep, rows, title=title), end="")
    return results, rows


if __name__ == "__main__":  # the pool's workers start with spawn: they import this file
    main()
