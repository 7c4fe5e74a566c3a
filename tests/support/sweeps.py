"""Small sweeps for the tests of ``minigrad.sweep`` (tests/sweep): 16 hidden units, 500
MNIST images (100 of them the validation split), one epoch, so a trial takes a fraction
of a second."""
from minigrad.sweep import Sweep
from minigrad.training_config import TrainConfig

#: the fields every small sweep fixes
SMALL = dict(hidden=(16,), epochs=1, batch_size=50)


def small_sweep(grid, seeds=(0,), validation=100, **config):
    """A Sweep of ``grid`` x ``seeds`` on 500 bundled MNIST images."""
    return Sweep(grid, seeds=seeds, base=TrainConfig(**{**SMALL, **config}),
                 train_subset=500, validation=validation)


def without_wall_time(history):
    """The records of a history without the fields that measure time."""
    return [{k: v for k, v in record.items() if k not in ("seconds", "samples_per_s")}
            for record in history]
