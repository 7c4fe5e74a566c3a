"""Misuse of the autograd engine is refused clearly, and correct programs compute as before.

Each section is one item of the issue "misuse: refuse clearly, compute nothing wrong":
grad mode per thread.
"""
import threading

import numpy as np
import pytest

import minigrad as mg


def leaf(values, dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ================================================================ grad mode per thread
def run_threads(*targets):
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_overlapping_no_grad_blocks_in_two_threads_leave_recording_on():
    """T1 enters, T2 enters, T1 leaves, T2 leaves: with one global flag T2 restored
    the False it saw on entry, and every later backward in the process failed."""
    barrier = threading.Barrier(2)
    seen = {}

    def first():
        with mg.no_grad():
            barrier.wait()          # 1: both inside
            barrier.wait()          # 2
        barrier.wait()              # 3: first has left, second still inside
        barrier.wait()              # 4: second has left
        seen["first"] = mg.is_grad_enabled()

    def second():
        barrier.wait()              # 1: first is inside
        with mg.no_grad():
            barrier.wait()          # 2
            barrier.wait()          # 3
        barrier.wait()              # 4
        seen["second"] = mg.is_grad_enabled()

    run_threads(first, second)
    assert seen == {"first": True, "second": True}
    assert mg.is_grad_enabled()
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_an_evaluation_thread_under_no_grad_never_stops_training_in_another():
    """The reported case: evaluation beside a training loop made every backward fail."""
    inside, step_done, stop = threading.Event(), threading.Event(), threading.Event()
    failures, steps = [], 50

    def evaluate():
        while not stop.is_set():
            with mg.no_grad():
                inside.set()
                step_done.wait(timeout=10)   # a training step runs while we are inside
                step_done.clear()
                assert not mg.is_grad_enabled()
                (leaf([1.0]) * 2).data  # evaluation work

    def train():
        w = leaf([0.5, -0.5])
        for _ in range(steps):
            inside.wait(timeout=10)
            inside.clear()
            try:
                (w * w).sum().backward()
            except RuntimeError as exc:
                failures.append(exc)
            step_done.set()
        stop.set()
        step_done.set()
        assert w.grad is not None and np.array_equal(w.grad, steps * np.array([1.0, -1.0]))

    run_threads(evaluate, train)
    assert failures == []


def test_a_new_thread_records_even_when_started_inside_no_grad():
    seen = []
    with mg.no_grad():
        run_threads(lambda: seen.append(mg.is_grad_enabled()))
        assert not mg.is_grad_enabled()
    assert seen == [True] and mg.is_grad_enabled()


def test_no_grad_nests_and_restores_the_mode_it_found():
    with mg.no_grad():
        with mg.no_grad():
            assert not mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    with pytest.raises(KeyError):
        with mg.no_grad():
            raise KeyError("the mode comes back on the way out of an exception")
    assert mg.is_grad_enabled()


@pytest.mark.parametrize("decorate", [mg.no_grad, mg.no_grad()], ids=["bare", "called"])
def test_no_grad_as_a_decorator_with_or_without_parentheses(decorate):
    @decorate
    def double(t):
        """Twice t."""
        assert not mg.is_grad_enabled()
        return t * 2

    assert not double(leaf([1.0])).requires_grad
    assert mg.is_grad_enabled()
    assert (double.__name__, double.__doc__) == ("double", "Twice t.")
