"""More than one process: data-parallel training through accelerate, and
searches on a Dask cluster through joblib.

The two-process run launches ``tests/accelerate_worker.py`` with
``python -m torch.distributed.run --standalone --nproc_per_node 2`` (two CPU
processes, gloo); the Dask search runs on a ``LocalCluster`` of two worker
processes. Both are skipped without their optional dependencies.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV

from skdec import DECClusterer
from skdec._cli import main as cli
from skdec.metrics import cluster_accuracy
from skdec.net import ShardedBatchIterator, SingleProcess, gather_rows, parallelism

sys.path.insert(0, str(Path(__file__).parent))
from accelerate_worker import blobs, first_target  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


class StubAccelerator:
    """What skdec reads of an accelerate.Accelerator, for the checks that
    need no processes."""

    def __init__(self, num_processes=2, process_index=0, device="cpu", **settings):
        self.num_processes = num_processes
        self.process_index = process_index
        self.is_main_process = process_index == 0
        self.device = torch.device(device)
        self.mixed_precision = settings.get("mixed_precision", "no")
        self.gradient_accumulation_steps = settings.get("steps", 1)

    def prepare(self, obj):
        return obj

    def gather(self, tensor):  # every process holds this one's rows
        return torch.cat([tensor] * self.num_processes)

    def unwrap_model(self, module, keep_fp32_wrapper=False):
        return module


# ----------------------------------------------------------- without processes
def test_import_without_accelerate_and_the_extra_named(tmp_path):
    code = (
        "import sys; sys.modules['accelerate'] = None\n"
        "import skdec, skdec.net\n"
        "from skdec import DECClusterer\n"
        "try:\n"
        "    DECClusterer(2, accelerator='auto').fit([[0.0], [1.0], [2.0]])\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install 'skdec[accelerate]'" in out


@pytest.mark.parametrize(
    "settings, match",
    [
        (dict(device="cuda"), "pass device='cuda'"),
        (dict(mixed_precision="bf16"), "precision='bfloat16'"),
        (dict(steps=4), "raise batch_size"),
    ],
)
def test_accelerator_settings_refused(settings, match):
    accelerator = StubAccelerator(**settings)
    with pytest.raises(ValueError, match=match):
        parallelism(accelerator, torch.device("cpu"))


def test_memory_refused_with_several_processes(tmp_path):
    X, _, params = blobs()
    dec = DECClusterer(3, accelerator=StubAccelerator(), memory=str(tmp_path), **params)
    with pytest.raises(ValueError, match="memory cannot cache"):
        dec.fit(X)


def test_sharded_batches_split_each_step_between_processes():
    from skorch.dataset import Dataset

    data = Dataset(np.arange(22, dtype=np.float32)[:, None], np.arange(22))
    shares = [
        [
            y.tolist()
            for _, y in ShardedBatchIterator(
                data, 10, accelerator=StubAccelerator(process_index=r)
            )
        ]
        for r in (0, 1)
    ]
    # two steps of 10 rows (the last 2 rows dropped), 5 rows to each process
    assert shares[0] == [[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]]
    assert shares[1] == [[5, 6, 7, 8, 9], [15, 16, 17, 18, 19]]
    with pytest.raises(ValueError, match="cannot be shared by 3 processes"):
        ShardedBatchIterator(data, 2, accelerator=StubAccelerator(3))
    with pytest.raises(ValueError, match="drop_last=True"):
        ShardedBatchIterator(data, 10, drop_last=False, accelerator=StubAccelerator())


def test_gather_rows_computes_one_block_per_process():
    X = torch.arange(7.0)[:, None]
    seen = []

    def compute(part):
        seen.append(part[:, 0].tolist())
        return part * 2, part + 1

    accelerator = StubAccelerator(num_processes=3, process_index=2)
    doubled, _ = gather_rows(accelerator, X, compute)
    assert seen == [[6.0]]  # rows 6..8 of 7: the third block of ceil(7 / 3)
    assert doubled.shape == (7, 1)


def test_one_process_accelerator_is_the_plain_fit():
    pytest.importorskip("accelerate")
    X, _, params = blobs()
    plain = DECClusterer(3, **params).fit(X)
    auto = DECClusterer(3, accelerator="auto", **params).fit(X)
    np.testing.assert_array_equal(auto.labels_, plain.labels_)
    np.testing.assert_array_equal(auto.cluster_centers_, plain.cluster_centers_)


def _blobs_file(tmp_path):
    X, _, _ = blobs()
    np.save(tmp_path / "x.npy", X)
    return [
        "cluster",
        "--data",
        str(tmp_path / "x.npy"),
        "--n-clusters",
        "3",
        "--init",
        "kmeans",
        "--hidden-dims",
        "32",
        "--pretrain-epochs",
        "5",
        "--max-iter",
        "20",
        "--quiet",
        "--accelerator",
        "auto",
    ]


def test_cli_main_process_writes_the_others_do_not(tmp_path, monkeypatch, capsys):
    pytest.importorskip("accelerate")
    args = _blobs_file(tmp_path)
    assert cli([*args, "--output", str(tmp_path / "main")]) == 0
    assert (
        json.loads((tmp_path / "main" / "metrics.json").read_text())["params"][
            "accelerator"
        ]
        == "auto"
    )
    import skdec.net

    monkeypatch.setattr(skdec.net, "is_main_process", lambda *args: False)
    assert cli([*args, "--output", str(tmp_path / "other")]) == 0
    assert not list((tmp_path / "other").iterdir())


def test_cli_names_the_extra_without_accelerate(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "accelerate", None)
    assert cli([*_blobs_file(tmp_path), "--output", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("skdec: error: ") and "skdec[accelerate]" in err
    assert len(err.splitlines()) == 1


# ---------------------------------------------------------------- two processes
@pytest.mark.distributed
@pytest.mark.timeout(240)
def test_two_processes_give_the_one_process_target_and_clustering(tmp_path):
    pytest.importorskip("accelerate")
    worker = Path(__file__).with_name("accelerate_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    src = str(Path(__file__).parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    run = subprocess.run(
        [*launch, "--nproc_per_node", "2", str(worker), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=200,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    X, y, params = blobs()
    for r, rank in enumerate(ranks):
        assert rank["n_processes"] == 2
        # a gathered pass: each process computed its block of the 7 rows
        assert rank["seen"].tolist() == [[4], [3]][r]
        np.testing.assert_array_equal(rank["gathered"], X[:7] * 2)
        # each process trained on half of every batch of 64
        assert rank["pretrain_batch"] == rank["cluster_batch"] == 32
    # the target of the first update: gathered, it is the one-process target
    one_process = SingleProcess(torch.device("cpu")).net
    target = first_target(X, one_process)
    for rank in ranks:
        np.testing.assert_allclose(rank["target"], target, rtol=0, atol=1e-7)
    # collapse roll-backs restore the wrapped module, the same in both
    rolled = ranks[0]["rolled_back"].tolist()
    assert any(rolled) and ranks[1]["rolled_back"].tolist() == rolled
    # both processes end with the same model; the main one wrote it
    np.testing.assert_array_equal(ranks[0]["labels"], ranks[1]["labels"])
    model = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(model.predict(X), ranks[0]["labels"])
    # the same clustering quality as one process: perfect on these blobs
    one = DECClusterer(3, **params).fit(X)
    assert cluster_accuracy(y, one.labels_) == 1.0
    assert cluster_accuracy(y, ranks[0]["labels"]) == 1.0
    assert adjusted_rand_score(one.labels_, ranks[0]["labels"]) == 1.0


# --------------------------------------------------------------- Dask searches
def _fit(estimator, X):
    return estimator.fit(X)


@pytest.mark.distributed
@pytest.mark.timeout(240)
def test_grid_search_on_a_dask_cluster_matches_the_local_search():
    distributed = pytest.importorskip("distributed")
    X, _, params = blobs()
    dec = DECClusterer(3, **params)
    grid = {"alpha": [1.0, 2.0]}
    local = GridSearchCV(dec, grid, cv=2).fit(X)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # dask's nanny starts its workers with OMP_NUM_THREADS=1
        assert set(client.run(torch.get_num_threads).values()) == {1}
        with joblib.parallel_backend("dask"):
            search = GridSearchCV(dec, grid, cv=2, n_jobs=-1).fit(X)
        # a fitted estimator, its skorch nets included, back from a worker
        remote = client.submit(_fit, clone(dec), X).result()
    assert search.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(remote.predict(X), clone(dec).fit(X).predict(X))
