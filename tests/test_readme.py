"""Every budgetopt command in the README runs as written, and prints what the README shows.

Each ```bash block's budgetopt commands run in a fresh folder beside the repository's shipped
files (benchmarks/data, scenarios/examples); each ```text block that follows a command is its
output, abridged: every line it shows must be a line the command prints (timings aside, and
numbers may differ by one unit of their last digit: a solver change within its gap moves
that digit).
"""

import re
import shlex
from pathlib import Path

import distributed
import pytest
from budgetopt.cli.main import cli
from click.testing import CliRunner

pytestmark = [pytest.mark.slow, pytest.mark.cli]
ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
TIMING = re.compile(r"\d+(\.\d+)? s\b")
NUMBER = re.compile(r"\d[\d,]*(?:\.(\d+))?")


def blocks():
    """(language, text) of every fenced block, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)


def commands_and_outputs():
    """Each README budgetopt command with the README's output lines for it (maybe none)."""
    pairs = []
    for language, text in blocks():
        if language == "bash":
            joined = text.replace("\\\n", " ")
            for line in joined.splitlines():
                for part in line.split("&&"):
                    words = shlex.split(part)
                    if words and words[0] == "budgetopt":
                        pairs.append([words[1:], []])
        elif language == "text" and pairs:
            pairs[-1][1] += text.splitlines()
    return pairs


def shown(line: str) -> bool:
    """A README output line that stands for itself (not an ellipsis or a comment)."""
    stripped = line.strip()
    return bool(stripped) and stripped not in ("...", "…") and not stripped.startswith("(")


def mask(line: str) -> str:
    return TIMING.sub("<t> s", line.rstrip())


def printed_as(expected: str, printed: set[str]) -> bool:
    """Whether some printed line is ``expected`` but for numbers one unit of their last digit
    apart."""
    if expected in printed:
        return True
    skeleton, wanted = NUMBER.sub("#", expected), list(NUMBER.finditer(expected))
    for line in printed:
        if NUMBER.sub("#", line) != skeleton:
            continue
        got = [float(m.group(0).replace(",", "")) for m in NUMBER.finditer(line)]
        if all(abs(g - float(w.group(0).replace(",", ""))) <= 10.0 ** -len(w.group(1) or "")
               * (1 + 1e-9) for g, w in zip(got, wanted)):
            return True
    return False


def test_the_readme_has_the_two_quick_start_commands():
    quick = README[README.index("## Quick start"):README.index("## The verbs")]
    assert "pip install -e . && budgetopt demo" in quick
    assert 'pip install -e ".[test]" && python -m pytest' in quick
    assert len(commands_and_outputs()) >= 8


def test_readme_numbers_may_move_by_one_unit_of_their_last_digit_only():
    assert printed_as("tv  1,234,567  +3.2 %", {"tv  1,234,568  +3.3 %"})
    assert not printed_as("tv  1,234,567  +3.2 %", {"tv  1,234,569  +3.2 %"})
    assert not printed_as("tv  0.50", {"tv  0.52"})
    assert not printed_as("tv  1,234,567", {"search  1,234,567"})


def on_cluster(arguments: list[str], clusters: list) -> list[str]:
    """The arguments with a --scheduler address replaced by a LocalCluster's (started once):
    the README's cluster runs on loopback as its section describes."""
    if "--scheduler" not in arguments:
        return arguments
    if not clusters:
        clusters.append(distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                                 host="127.0.0.1", dashboard_address=None))
    where = arguments.index("--scheduler") + 1
    return [*arguments[:where], clusters[0].scheduler_address, *arguments[where + 1:]]


def test_every_readme_command_runs_and_prints_what_the_readme_shows(tmp_path, monkeypatch):
    for folder in ("benchmarks", "scenarios"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    clusters = []
    try:
        for arguments, expected in commands_and_outputs():
            result = CliRunner().invoke(cli, on_cluster(arguments, clusters))
            assert result.exit_code == 0, (arguments, result.output, result.stderr)
            printed = {mask(line.replace(f"{tmp_path}/", "")) for line in
                       (result.output + result.stderr).splitlines()}
            missing = [line for line in expected
                       if shown(line) and not printed_as(mask(line), printed)]
            assert missing == [], (arguments, missing)
    finally:
        for cluster in clusters:
            cluster.close()
