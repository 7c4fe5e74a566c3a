"""A sweep's grid: which values each swept field takes, and the trials they make.

A sweep trains one run per *grid point* (a value for every swept field) and per *base
seed*. The grid is an ordered mapping ``axis -> values``; its points are the Cartesian
product of the axes (the last axis varies fastest, as in ``itertools.product``), except
for *linked* axes, which vary together: ``linked=[("p_hidden", "hidden")]`` makes the
i-th value of ``p_hidden`` go with the i-th value of ``hidden`` (as ``zip`` pairs them),
so that, say, the expected number of kept units ``(1 - p_hidden) * hidden`` stays fixed
while the rate changes (Srivastava et al. 2014, Figure 9b). An axis
is any ``TrainConfig`` field but ``seed`` (``p_input``, ``hidden``, ``max_norm``, ...),
spelled as the field or as its ``minigrad train`` flag without the dashes
(``input-dropout``), or one of the data axes ``dataset`` and ``train_subset``. Fields
that are not swept take the values of the sweep's base ``TrainConfig``.

Every value is checked by its field's own check (``TrainConfig``'s declarations, so a
sweep accepts exactly what ``minigrad train`` accepts), and then every point's whole
``TrainConfig`` is built, so a grid that cannot run (an unknown axis, a bad value, an
empty axis, a value given twice, a point whose learning rate underflows) is a
``ValueError`` or ``TypeError`` naming the axis, before any trial starts.

Trial keys and seeds. A trial is what one training run needs: the configuration, the
data (dataset, training subset, validation split) and its base seed. Its *content* is
that description without the seed, as canonical JSON (sorted keys, floats as Python
writes them). Its seed is derived, never shared between trials:

    seed = first 63 bits of SHA-256("minigrad.sweep/<base seed>/<content>")

so it depends only on what is trained and on the base seed, not on the worker, the
order, how the grid was written or which other points it has; the same trial in
another sweep gets the same seed and the same result. (Points therefore use independent
seeds, not common ones: the spread over seeds is each point's own error bar.) The
trial's *key*, also its directory name, is readable, then a hash for uniqueness::

    p_hidden=0.5,p_input=0.2,seed=0-5c1e0a9d2b

the swept values sorted by axis name and the base seed, then 10 hex digits of
SHA-256("<base seed>/<content>"), so changing a field that is not swept (``epochs``)
makes new trials instead of reusing old results.

Example::

    >>> from minigrad.training_config import TrainConfig
    >>> sweep = Sweep({"p_input": [0.0, 0.2], "hidden": [(16,), (32,)]}, seeds=[0, 1],
    ...               base=TrainConfig(epochs=1), train_subset=500, validation=100)
    >>> len(sweep.points()), len(sweep.trials())
    (4, 8)
    >>> sweep.trials()[0].key
    'hidden=16,p_input=0.0,seed=0-...'
    >>> linked = Sweep({"p_hidden": [0.5, 0.75], "hidden": [(64,), (128,)]},
    ...                linked=[("p_hidden", "hidden")])
    >>> [dict(point) for point in linked.points()]
    [{'p_hidden': 0.5, 'hidden': (64,)}, {'p_hidden': 0.75, 'hidden': (128,)}]
    >>> Sweep({"p_inptu": [0.1]})
    Traceback (most recent call last):
        ...
    ValueError: grid: unknown axis 'p_inptu'; did you mean 'p_input'? the axes are ...
"""
import dataclasses
import difflib
import hashlib
import itertools
import json
import math
import numbers
import os
import typing

from ..checks import check_choice, check_int, check_real
from ..cli_flags import config_flag
from ..data import sources
from ..training_config import TrainConfig

__all__ = ["Sweep", "Trial", "AXES", "parse_axis", "check_validation", "trial_seed",
           "validation_count", "read_sweep_file", "show_value", "show_point", "show_count",
           "SWEEP_KEYS"]

_FIELDS = {field.name: field for field in dataclasses.fields(TrainConfig)}
_TYPES = typing.get_type_hints(TrainConfig)
#: the axes that are not TrainConfig fields: which data a trial trains on
DATA_AXES = ("dataset", "train_subset")
#: the keys of a sweep file and of ``sweep.json`` (``Sweep.from_dict``, ``Sweep.to_dict``)
SWEEP_KEYS = ("grid", "linked", "seeds", "config", "dataset", "train_subset", "validation",
              "data_dir")
#: every axis a grid may name (``seed`` is not one: give base seeds instead)
AXES = tuple(name for name in _FIELDS if name != "seed") + DATA_AXES
_ALIASES = {config_flag(field).lstrip("-"): name for name, field in _FIELDS.items()}
_ALIASES["train-subset"] = "train_subset"


def _check_dataset(name, value):
    return check_choice(name, value, tuple(sources.DATASETS))


def _check_subset(name, value):
    return None if value is None else check_int(name, value, minimum=1)


def axis_check(axis):
    """The ``check(name, value)`` every value of ``axis`` passes."""
    if axis == "dataset":
        return _check_dataset
    if axis == "train_subset":
        return _check_subset
    return _FIELDS[axis].metadata["check"]


def check_validation(name, value):
    """The validation split: None, a count N >= 1 (the last N training images) or a
    fraction in (0, 1) of the training images (after ``train_subset``).

    >>> check_validation("validation", 0.1), check_validation("validation", 5000)
    (0.1, 5000)
    """
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return check_int(name, value, minimum=1)
    if isinstance(value, float) and not 0 < value < 1:
        raise ValueError(f"{name} must be a count of images >= 1 or a fraction in (0, 1), "
                         f"got {value}")
    return check_real(name, value, 0, 1, low_open=True, high_open=True)


def axis_name(name):
    """The field an axis name means (``input-dropout`` -> ``p_input``), or ValueError."""
    name = _ALIASES.get(name, name)
    if name == "seed":
        raise ValueError("grid: seed is not an axis: give the base seeds (--seeds 0 1 2); "
                         "each trial's seed is derived from its base seed and its content")
    if name not in AXES:
        near = difflib.get_close_matches(str(name), AXES + tuple(_ALIASES), n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise ValueError(f"grid: unknown axis {name!r}; {hint}the axes are {', '.join(AXES)}")
    return name


def _value_from_text(axis, text):
    """One value of ``axis`` from the command line's text (``16x16``, ``none``, ``0.2``)."""
    text = text.strip()
    if axis == "hidden":  # sizes joined by x, as a shape is written; none: no hidden layer
        if text.lower() in ("", "none"):
            return ()
        try:
            return tuple(int(size) for size in text.lower().split("x"))
        except ValueError:
            raise ValueError(f"grid axis hidden: {text!r} is not layer sizes such as "
                             "1024x1024 (or none)") from None
    if axis == "train_subset":
        return None if text.lower() in ("none", "all") else _number(axis, int, text)
    if axis == "dataset":
        return text
    field = _FIELDS[axis]
    if field.metadata["parse"] is not None:
        return field.metadata["parse"](text)
    kind = next((t for t in typing.get_args(_TYPES[axis]) or (_TYPES[axis],)
                 if t in (bool, int, float, str)), str)
    if kind is bool:
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if text.lower() not in words:
            raise ValueError(f"grid axis {axis}: {text!r} is not true or false")
        return words[text.lower()]
    if kind is str:
        return text
    if text.lower() == "none" and type(None) in typing.get_args(_TYPES[axis]):
        return None
    return _number(axis, kind, text)


def _number(axis, kind, text):
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"grid axis {axis}: {text!r} is not {what}") from None


def parse_axis(text):
    """``(axis, values)`` of one ``--grid AXIS=V1,V2,...`` (values split at commas).

    >>> parse_axis("input-dropout=0,0.2")
    ('p_input', (0.0, 0.2))
    >>> parse_axis("hidden=16x16,32")
    ('hidden', ((16, 16), (32,)))
    """
    name, sep, values = text.partition("=")
    if not sep:
        raise ValueError(f"grid: {text!r} is not AXIS=V1,V2,... (e.g. p_input=0,0.2)")
    axis = axis_name(name.strip())
    words = [] if not values.strip() else values.split(",")
    return axis, _check_values(axis, [_value_from_text(axis, word) for word in words])


def _check_values(axis, values, unique=True):
    """``values`` of ``axis`` checked by the field's check: not empty and, with
    ``unique``, no value twice (a linked axis may repeat a value: its group's tuples of
    values must differ instead, ``_check_linked``)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, typing.Iterable):
        raise TypeError(f"grid axis {axis}: the values must be a list, got "
                        f"{type(values).__name__} {values!r}")
    check, kind = axis_check(axis), _TYPES.get(axis)
    checked = []
    for value in values:
        if isinstance(value, str) and kind is not str and axis != "dataset":
            value = _value_from_text(axis, value)  # "none", "16x16" from a file
        if axis == "hidden" and isinstance(value, int) and not isinstance(value, bool):
            value = (value,)  # one hidden layer may be written as its size
        checked.append(check(f"grid axis {axis}", value))
    if not checked:
        raise ValueError(f"grid axis {axis}: no values (an empty axis would make no trials)")
    if unique:
        _no_repeats(f"grid axis {axis}", checked)
    return tuple(checked)


def _no_repeats(name, values):
    seen = set()
    for value in values:
        if _canonical(value) in seen:
            raise ValueError(f"{name}: the value {value!r} is given twice")
        seen.add(_canonical(value))


def _linked_names(linked):
    """``linked`` as a tuple of tuples of axis names (``axis_name``), or TypeError."""
    def names(group):
        if isinstance(group, (str, bytes)) or not isinstance(group, typing.Iterable):
            raise TypeError(f"linked: each group must be a list of axis names, got {group!r}")
        return tuple(axis_name(str(name)) for name in group)
    if isinstance(linked, (str, bytes)) or not isinstance(linked, typing.Iterable):
        raise TypeError(f"linked: must be a list of groups of axis names, got {linked!r}")
    return tuple(names(group) for group in linked)


def _check_linked(groups, grid):
    """The linked ``groups`` checked against ``grid``: each names two or more of its axes,
    no axis is in two groups, the axes of a group have as many values each, and no
    tuple of values is given twice. Each group is returned in the grid's axis order."""
    order = list(grid)
    seen = set()
    for group in groups:
        if len(group) < 2:
            raise ValueError(f"linked: a group links two or more axes, got {list(group)}")
        for axis in group:
            if axis not in grid:
                raise ValueError(f"linked: {axis} is not a grid axis; the grid's axes are "
                                 f"{', '.join(order) or 'none'}")
            if axis in seen:
                raise ValueError(f"linked: axis {axis} is linked twice")
            seen.add(axis)
        counts = {axis: len(grid[axis]) for axis in group}
        if len(set(counts.values())) > 1:
            raise ValueError("linked axes vary together, so they need as many values each, "
                             "got " + ", ".join(f"{a}: {n}" for a, n in counts.items()))
        _no_repeats(f"linked axes {', '.join(group)}", list(zip(*(grid[a] for a in group))))
    return tuple(tuple(sorted(group, key=order.index))
                 for group in sorted(groups, key=lambda g: min(map(order.index, g))))


def _canonical(value):
    """JSON text that is the same for equal values (tuples as lists, sorted keys)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def show_value(value):
    """A grid value as trial keys, tables and plots show it (and ``--grid`` reads it).

    >>> show_value((16, 16)), show_value(()), show_value(None), show_value(True), show_value(0.2)
    ('16x16', 'none', 'none', 'true', '0.2')
    """
    if isinstance(value, (list, tuple)):  # hidden sizes (a list when read from JSON)
        return "x".join(str(v) for v in value) or "none"
    if value is None:
        return "none"
    return str(value).lower() if isinstance(value, bool) else str(value)


def show_point(pairs, sep=", "):
    """The ``(axis, value)`` pairs of a grid point as ``axis=value`` joined by ``sep``.

    >>> show_point([("p_input", 0.2), ("hidden", (16, 16))])
    'p_input=0.2, hidden=16x16'
    """
    return sep.join(f"{axis}={show_value(value)}" for axis, value in pairs)


def show_count(number, noun, plural=None):
    """``number`` and ``noun``, in the plural (``plural``, else ``noun + "s"``) unless the
    number is 1, as the sweep's messages count trials, points, seeds and workers.

    >>> show_count(1, "seed"), show_count(3, "seed"), show_count(2, "process", "processes")
    ('1 seed', '3 seeds', '2 processes')
    """
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def trial_seed(base_seed, content):
    """The seed of the trial described by ``content`` (canonical JSON) for ``base_seed``.

    >>> trial_seed(0, '{"p_input":0.2}') == trial_seed(0, '{"p_input":0.2}')
    True
    >>> trial_seed(0, '{"p_input":0.2}') != trial_seed(1, '{"p_input":0.2}')
    True
    """
    digest = hashlib.sha256(f"minigrad.sweep/{base_seed}/{content}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # 63 bits: a positive int64 anywhere


@dataclasses.dataclass(frozen=True)
class Trial:
    """One run of a sweep: ``config`` (with its derived seed) trained on ``dataset``.

    Attributes:
        point: the grid point, a tuple of ``(axis, value)`` pairs in the grid's order.
        base_seed: the sweep seed this trial's ``config.seed`` was derived from.
        config: the ``TrainConfig`` trained.
        dataset, train_subset: the data (``train_subset``: the first N training images,
            or None for all).
        validation: the validation split (``check_validation``), held out from the end
            of the training images; never the test set.
        data_dir: where the data files are looked up (None: the usual places); not part
            of the key, as the files are verified by checksum wherever they are.
        key: the readable, unique name of the trial and of its directory.
    """

    point: tuple
    base_seed: int
    config: TrainConfig
    dataset: str = "mnist"
    train_subset: int | None = None
    validation: int | float | None = None
    data_dir: str | None = None
    key: str = ""

    def describe(self):
        """The trial as JSON-friendly data (what ``config.json`` holds)."""
        return {"key": self.key, "point": {axis: _jsonable(v) for axis, v in self.point},
                "base_seed": self.base_seed, "config": self.config.to_dict(),
                "dataset": self.dataset, "train_subset": self.train_subset,
                "validation": self.validation}


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A grid of training runs: ``grid`` (``axis -> values``) times ``seeds``.

    Arguments:
        grid: an ordered mapping of axis names (module docstring) to lists of values.
        linked: groups of grid axes that vary together (module docstring), e.g.
            ``[("p_hidden", "hidden")]``; the axes of a group have as many values each.
        seeds: base seeds (ints >= 0, none twice); each trial's seed is derived from
            one of them and the trial's content (``trial_seed``).
        base: the ``TrainConfig`` whose fields the grid does not sweep.
        dataset, train_subset: the data of every trial unless swept.
        validation: None, or the split held out of the training images: a count N
            (the last N) or a fraction in (0, 1). The sweep's choice of configuration
            is made on it; without it nothing is chosen (never on the test set).
        data_dir: where the data files are looked up (``minigrad.data.load_dataset``).

    Every value is checked, and every trial built, when the Sweep is made.
    """

    grid: dict = dataclasses.field(default_factory=dict)
    linked: tuple = ()
    seeds: tuple = (0,)
    base: TrainConfig = TrainConfig()
    dataset: str = "mnist"
    train_subset: int | None = None
    validation: int | float | None = None
    data_dir: str | None = None

    def __post_init__(self):
        if not isinstance(self.base, TrainConfig):
            raise TypeError(f"Sweep: base must be a TrainConfig, got {type(self.base).__name__}")
        if not hasattr(self.grid, "items"):
            raise TypeError(f"Sweep: grid must be a mapping axis -> values, got "
                            f"{type(self.grid).__name__}")
        linked = _linked_names(self.linked)
        grid = {}
        for name, values in self.grid.items():
            axis = axis_name(name)
            if axis in grid:
                raise ValueError(f"grid: axis {axis} is given twice")
            grid[axis] = _check_values(axis, values,
                                       unique=not any(axis in group for group in linked))
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "linked", _check_linked(linked, grid))
        object.__setattr__(self, "seeds", self._checked_seeds())
        object.__setattr__(self, "dataset", _check_dataset("Sweep: dataset", self.dataset))
        object.__setattr__(self, "train_subset",
                           _check_subset("Sweep: train_subset", self.train_subset))
        object.__setattr__(self, "validation",
                           check_validation("Sweep: validation", self.validation))
        if self.data_dir is not None:
            if not isinstance(self.data_dir, (str, os.PathLike)):
                raise TypeError(f"Sweep: data_dir must be None or a path, got "
                                f"{type(self.data_dir).__name__} {self.data_dir!r}")
            object.__setattr__(self, "data_dir", os.fspath(self.data_dir))
        object.__setattr__(self, "_trials", self._build_trials())

    def _checked_seeds(self):
        if isinstance(self.seeds, (str, bytes)) or not isinstance(self.seeds, typing.Iterable):
            raise TypeError(f"Sweep: seeds must be a list of ints, got {self.seeds!r}")
        seeds = tuple(check_int("Sweep: seeds", s, minimum=0) for s in self.seeds)
        if not seeds:
            raise ValueError("Sweep: seeds is empty (no trials)")
        if len(set(seeds)) < len(seeds):
            raise ValueError(f"Sweep: a seed is given twice in {list(seeds)}")
        return seeds

    def axis_groups(self):
        """The axes as groups that vary together, in the grid's order: each linked group,
        and every other axis alone."""
        group_of = {axis: group for group in self.linked for axis in group}
        return list(dict.fromkeys(group_of.get(axis, (axis,)) for axis in self.grid))

    def points(self):
        """The grid points in order, each a tuple of ``(axis, value)`` pairs in the grid's
        axis order: the product of the axis groups, the last varying fastest."""
        groups = self.axis_groups()
        points = []
        for choice in itertools.product(*(range(len(self.grid[g[0]])) for g in groups)):
            values = {axis: self.grid[axis][i] for group, i in zip(groups, choice)
                      for axis in group}
            points.append(tuple((axis, values[axis]) for axis in self.grid))
        return points

    def trials(self):
        """Every trial: each grid point with each base seed (the seeds vary fastest)."""
        return list(self._trials)

    def _build_trials(self):
        trials = []
        for point in self.points():
            values = dict(point)
            data = {axis: values.pop(axis, getattr(self, axis)) for axis in DATA_AXES}
            try:
                config = TrainConfig(**{**self.base.to_dict(), **values, "seed": 0})
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"grid point {show_point(point)}: {exc}") from None
            content = dict(config.to_dict(), **data, validation=self.validation)
            del content["seed"]
            content = _canonical(content)
            for base_seed in self.seeds:
                digest = hashlib.sha256(f"{base_seed}/{content}".encode()).hexdigest()
                readable = show_point([*sorted(point), ("seed", base_seed)], sep=",")
                seeded = dataclasses.replace(config, seed=trial_seed(base_seed, content))
                trials.append(Trial(point, base_seed, seeded, data["dataset"],
                                    data["train_subset"], self.validation, self.data_dir,
                                    key=f"{readable[:120]}-{digest[:10]}"))
        return tuple(trials)

    def to_dict(self):
        """JSON-friendly data (``sweep.json``); ``Sweep.from_dict`` reads it back."""
        return {"grid": {axis: [_jsonable(v) for v in values]
                         for axis, values in self.grid.items()},
                "linked": [list(group) for group in self.linked],
                "seeds": list(self.seeds),
                "config": {k: v for k, v in self.base.to_dict().items() if k != "seed"},
                "dataset": self.dataset, "train_subset": self.train_subset,
                "validation": self.validation, "data_dir": self.data_dir}

    @classmethod
    def from_dict(cls, d):
        """A Sweep from the data of ``to_dict`` or of a sweep file (``read_sweep_file``);
        ``config`` may name only some fields (the others keep TrainConfig's defaults);
        a field that is also a grid axis takes the grid's values."""
        unknown = set(d) - set(SWEEP_KEYS)
        if unknown:
            raise ValueError(f"sweep: unknown keys {sorted(unknown)}; the keys are "
                             f"{', '.join(SWEEP_KEYS)}")
        base = d.get("config", {})
        if not hasattr(base, "items"):
            raise TypeError(f"sweep: config must be a table of TrainConfig fields, got {base!r}")
        if "seed" in base:
            raise ValueError("sweep: config.seed is not used: give the base seeds as seeds")
        return cls(grid=d.get("grid", {}), linked=d.get("linked", ()),
                   seeds=d.get("seeds", (0,)), base=TrainConfig.from_dict(dict(base)), dataset=d.get("dataset", "mnist"),
                   train_subset=d.get("train_subset"), validation=d.get("validation"),
                   data_dir=d.get("data_dir"))


def validation_count(validation, n_train):
    """How many of ``n_train`` training images the ``validation`` split holds, or ValueError.

    >>> validation_count(0.1, 500), validation_count(100, 500), validation_count(None, 500)
    (50, 100, 0)
    """
    if validation is None:
        return 0
    n = validation if isinstance(validation, int) else int(math.floor(validation * n_train + 0.5))
    if not 1 <= n < n_train:
        raise ValueError(f"validation {validation} holds {n} of the {n_train} training images: "
                         f"it must leave at least one image to train on and hold at least one")
    return n


def read_sweep_file(path):
    """The data of a sweep file, TOML (``.toml``) or JSON (any other name), as a dict.

    The keys are those of ``Sweep.from_dict``: ``grid`` (a table ``axis = [values]``),
    ``linked`` (a list of lists of axes that vary together), ``seeds``, ``config`` (the fixed TrainConfig fields), ``dataset``, ``train_subset``,
    ``validation``, ``data_dir``. An example::

        seeds = [0, 1]
        dataset = "fashion-mnist"
        train_subset = 10000
        validation = 2000
        [config]
        hidden = [256, 256]
        epochs = 3
        [grid]
        p_input = [0.0, 0.2]
        p_hidden = [0.3, 0.5]

    TOML is read by ``tomllib`` (Python 3.11+) or ``tomli`` on 3.10.
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        if str(path).endswith(".toml"):
            try:
                import tomllib
            except ImportError:  # Python 3.10: the same parser, as a package
                import tomli as tomllib
            data = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw)
    except ValueError as exc:  # TOMLDecodeError, JSONDecodeError, UnicodeDecodeError
        kind = "TOML" if str(path).endswith(".toml") else "JSON"
        raise ValueError(f"{path}: not a valid {kind} file: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a sweep file holds a table of keys, got {type(data).__name__}")
    return data
