"""Scenario cases and bootstrap refits on a real Dask cluster, against the same run here.

A ``distributed.LocalCluster`` with two worker processes listens on loopback for the module;
the command line gets its address with ``--scheduler``, as a user would give a remote one.
"""

import io
import socket
import sys
from pathlib import Path

import distributed
import numpy as np
import pandas as pd
import pytest
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.parallel import open_executor
from budgetopt.optimizer.synthetic import simulate_wide_history, wide_truth_model
from budgetopt.scenarios.runner import run_cases, summary_frame
from budgetopt.scenarios.scenario_file import read_scenarios
from conftest import run

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).parents[1] / "scenarios" / "examples"
FIT = ["--date", "date", "--kpi", "revenue", "--channels", "tv=tv_spend,search=search_spend",
       "--bootstrap", "12", "--seed", "3"]


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """Two years of a generated weekly history (two channels: a quick fit)."""
    path = tmp_path_factory.mktemp("history") / "history.csv"
    simulate_wide_history(wide_truth_model(), periods=104, seed=2).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as local:
        yield local


def many_cases(folder: Path, count: int = 24) -> Path:
    """The example quarter with ``count`` budget cases around its base."""
    path = folder / "many.toml"
    cases = "".join(f'\n[[case]]\nname = "budget {b:.0f}"\nbudget = {b:.0f}\n'
                    for b in np.linspace(800_000, 1_500_000, count))
    path.write_text(f'model = "{EXAMPLES / "demo_model.json"}"\n\n[base]\nbudget = 1118000\n'
                    f'periods = 13\nconstraints = "{EXAMPLES / "constraints.toml"}"\n{cases}')
    return path


def written(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(folder.iterdir())}


def test_scenarios_on_the_cluster_equal_the_local_run(cluster, tmp_path):
    scenarios = many_cases(tmp_path)
    local = run("scenarios", scenarios, "--workers", "1", "--out", tmp_path / "local")
    remote = run("scenarios", scenarios, "--scheduler", cluster.scheduler_address,
                 "--out", tmp_path / "remote")
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    here, there = written(tmp_path / "local"), written(tmp_path / "remote")
    assert here.keys() == there.keys() and len(there) == 26  # summary + base + 24 cases
    for name in here:  # the same tables; floats to 1e-9 (sums may round apart by processes)
        pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(here[name])),
                                      pd.read_csv(io.StringIO(there[name])), rtol=1e-9,
                                      check_exact=False)


def test_a_worker_lost_mid_run_changes_nothing(cluster, tmp_path):
    scenario_set = read_scenarios(many_cases(tmp_path, count=16))
    expected = summary_frame(run_cases(scenario_set))
    killed = []

    def kill_a_worker(done, total):
        if done == 2 and not killed:
            nanny = next(iter(cluster.workers.values()))
            nanny.process.process.kill()  # the nanny starts a new worker; its tasks rerun
            killed.append(nanny)

    with open_executor(cluster.scheduler_address) as executor:
        outcomes = run_cases(scenario_set, executor=executor, progress=kill_a_worker)
    assert killed
    pd.testing.assert_frame_equal(summary_frame(outcomes), expected)


def test_fit_draws_on_the_cluster_equal_the_local_fit(cluster, history, tmp_path):
    models = {}
    for where, flags in (("here", []), ("cluster", ["--scheduler", cluster.scheduler_address]),
                         ("processes", ["--workers", "2"])):
        result = run("fit", history, *FIT, *flags, "--out", tmp_path / f"{where}.json")
        assert result.exit_code == 0, result.output
        models[where] = read_model(tmp_path / f"{where}.json")
    here = models["here"]
    assert len(here.draws) == 12 and np.unique(here.draws.beta[:, 0]).size == 12
    for other in ("cluster", "processes"):
        for name in ("beta", "k", "s", "decay"):
            np.testing.assert_array_equal(getattr(models[other].draws, name),
                                          getattr(here.draws, name))
        np.testing.assert_array_equal(models[other].curves.beta, here.curves.beta)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("command", ["scenarios", "fit"])
def test_an_unreachable_scheduler_is_one_message_and_writes_nothing(command, history, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    out = tmp_path / ("out" if command == "scenarios" else "model.json")
    args = ([EXAMPLES / "quarter.toml"] if command == "scenarios" else [history, *FIT])
    result = run(command, *args, "--scheduler", address, "--out", out)
    assert result.exit_code == 1
    message = result.output.strip().splitlines()[-1]
    assert address in message and "Traceback" not in result.output
    assert not out.exists()


def test_without_the_extra_the_message_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    result = run("scenarios", EXAMPLES / "quarter.toml", "--scheduler", "tcp://127.0.0.1:1",
                 "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "pip install 'budgetopt[dask]'" in result.output
    assert not (tmp_path / "out").exists()
