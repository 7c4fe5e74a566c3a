"""A process forked after the kernels ran on several threads can still train.

GNU OpenMP's worker threads do not survive fork(): a forked child that opens a parallel
region on two threads waits forever for them. minigrad's at-fork handler drops a forked
child to one thread (see minigrad/kernels/backend.py). Each check runs in a subprocess in its own
session with a timeout, so a regression kills that process group and fails instead of
hanging the suite.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

import minigrad

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")

TIMEOUT = 60  # seconds; each script takes 2-5 s when nothing hangs

# Trains a small dropout MLP for a few steps: 128 x 512 activations and 512-column weights,
# so every compiled kernel splits its work on 2 threads (sizes as in test_determinism.py).
WORKER = textwrap.dedent("""
    import hashlib, json, multiprocessing, os, sys, warnings
    import numpy as np
    import minigrad as mg
    from minigrad import nn
    from minigrad.optim import SGD

    def train(steps=3):
        mg.manual_seed(0)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(128, 256)).astype(np.float32)
        y = rng.integers(0, 10, size=128)
        model = nn.Sequential(nn.Linear(256, 512, max_norm=1.0), nn.ReLU(), nn.Dropout(0.5),
                              nn.Linear(512, 512, max_norm=1.0), nn.ReLU(), nn.Dropout(0.5),
                              nn.Linear(512, 10))
        optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
        losses = []
        for _ in range(steps):
            loss = mg.cross_entropy(model(mg.tensor(x)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        digest = hashlib.sha256()
        for name, w in sorted(model.state_dict().items()):
            digest.update(name.encode() + w.tobytes())
        info = mg.backend_info()
        return {"threads": info["num_threads"], "forked_child": info.get("forked_child"),
                "losses": losses, "weights": digest.hexdigest()}
""")


def run_script(tmp_path, body):
    """Run WORKER + ``body`` as a script in a new session; return its JSON output."""
    script = tmp_path / "script.py"
    script.write_text(WORKER + textwrap.dedent(body))
    # the minigrad this test imported (source tree with built kernels, or installed)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(minigrad.__file__)))
    env.pop("MINIGRAD_NUM_THREADS", None)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the script and its hung children
        out, err = proc.communicate()
        pytest.fail(f"the forked workers hung (killed after {TIMEOUT} s):\n{out}\n{err}")
    assert proc.returncode == 0, err
    return json.loads(out.splitlines()[-1]), err


def test_fork_pool_workers_train_on_one_thread_and_match_the_parent(tmp_path):
    result, _ = run_script(tmp_path, """
        if __name__ == "__main__":
            mg.set_num_threads(2)
            parent = train()  # starts libgomp's thread pool in the parent
            with multiprocessing.get_context("fork").Pool(2) as pool:
                workers = [pool.apply_async(train) for _ in range(2)]
                workers = [w.get() for w in workers]
            print(json.dumps({"parent": parent, "workers": workers}))
    """)
    parent = result["parent"]
    assert parent["threads"] == 2 and not parent["forked_child"]
    for worker in result["workers"]:
        assert worker["threads"] == 1 and worker["forked_child"]
        assert worker["losses"] == parent["losses"]  # floats through JSON: exact repr
        assert worker["weights"] == parent["weights"]


def test_set_num_threads_in_a_forked_child_warns_and_keeps_one_thread(tmp_path):
    result, _ = run_script(tmp_path, """
        if __name__ == "__main__":
            mg.set_num_threads(2)
            parent = train()
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    mg.set_num_threads(2)
                child = train()
                child["warnings"] = [str(w.message) for w in caught]
                os.write(write, json.dumps(child).encode())
                os._exit(0)
            os.close(write)
            with os.fdopen(read) as pipe:
                child = json.loads(pipe.read())
            assert os.waitpid(pid, 0)[1] == 0
            print(json.dumps({"parent": parent, "child": child}))
    """)
    parent, child = result["parent"], result["child"]
    assert child["threads"] == 1 and child["forked_child"]
    assert child["weights"] == parent["weights"] and child["losses"] == parent["losses"]
    assert len(child["warnings"]) == 1
    assert "set_num_threads(2) ignored" in child["warnings"][0]
    assert "spawn" in child["warnings"][0]


def test_spawn_workers_keep_every_thread(tmp_path):
    result, _ = run_script(tmp_path, """
        if __name__ == "__main__":
            mg.set_num_threads(2)
            parent = train()
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                worker = pool.apply(train)
            print(json.dumps({"parent": parent, "worker": worker,
                              "default": mg.kernels.backend.available_cores()}))
    """)
    worker = result["worker"]
    assert worker["threads"] == result["default"] and not worker["forked_child"]
    assert worker["weights"] == result["parent"]["weights"]
