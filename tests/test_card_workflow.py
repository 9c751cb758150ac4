"""The card's daily workflow on the tiny pipeline, as the README shows it: `dvc exp run -S nst.beta=1e-5`
changes one line of params.yaml; the README's `dvc exp show` fits 120 columns with the changed param and the
headline metrics; `dvc metrics diff` lists only NST rows; a bad `-S` value stops at check_params before any
stage's outputs are removed; `dvc exp apply` works; `dvc plots diff` renders offline with no flag."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from repo_copy import BETA_EXPERIMENT, ROOT, attempt, clone_built, ran, run, tree_digest

pytestmark = pytest.mark.slow  # `pytest -m 'not slow'` is the fast inner loop

README = ROOT / "README.md"
HEADLINE = ["gan.fd_vgg19", "vaegan.fd_vgg19", "nst.total_loss", "texnet.loss_vs_gatys"]


def readme_command(prefix: str) -> list[str]:
    """The README's one command line (in a code block) that starts with `prefix`, as words, comment dropped."""
    blocks = re.findall(r"^```bash\n(.*?)^```", README.read_text(), re.DOTALL | re.MULTILINE)
    lines = [line for block in blocks for line in block.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"README: {len(lines)} lines start with {prefix!r}"
    return shlex.split(lines[0], comments=True)


@pytest.fixture(scope="module")
def repo(beta_experiment: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built tiny repo after the card's experiment (the README's command, run once a session by
    conftest.beta_experiment), applied to the workspace."""
    assert readme_command("dvc exp run -S nst.beta=") == BETA_EXPERIMENT
    built, output = beta_experiment
    assert ran(output) == {"check_params", "stylize", "report"}, output
    return clone_built(built, tmp_path_factory.mktemp("card") / "apeart")


def test_a_set_changes_one_line_of_params(repo: Path) -> None:
    assert run(["git", "diff", "--numstat", "params.yaml"], repo, stdout_only=True).split()[:2] == ["1", "1"]


def test_readme_exp_show_fits_120_columns_with_the_headline(repo: Path) -> None:
    table = run(readme_command("dvc exp show"), repo, stdout_only=True, COLUMNS="120")
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 120, table
    assert "…" not in table, table  # no column cut
    header = next(line for line in lines if "Experiment" in line).split()
    assert header == ["Experiment", *HEADLINE, "nst.beta"], table
    assert sum("1e-05" in line for line in lines) == 2 and any("1e-06" in line for line in lines), table


def test_metrics_diff_lists_only_what_the_experiment_changed(repo: Path) -> None:
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo, stdout_only=True))
    keys = {f"{path}:{key}" for path, metrics in diff.items() for key in metrics}
    assert keys and all(k.startswith("metrics/nst/metrics.json:nst.") for k in keys), keys


def test_exp_apply_and_checkout_succeed(repo: Path) -> None:
    name = run(["dvc", "exp", "list", "--name-only"], repo, stdout_only=True).split()[0]
    run(["git", "checkout", "--", "."], repo)
    run(["dvc", "checkout"], repo)
    run(["dvc", "exp", "apply", name], repo)
    assert "1e-05" in (repo / "params.yaml").read_text().split("  beta:")[1].splitlines()[0]


def test_a_bad_value_stops_before_any_output_is_removed(built_repo: Path, tmp_path: Path) -> None:
    repo = clone_built(built_repo, tmp_path / "apeart")
    before = tree_digest(repo / "reports")
    code, output = attempt(["dvc", "exp", "run", "-S", "nst.steps=abc"], repo)
    assert code != 0 and ran(output) == {"check_params"}, output
    errors = [line for line in output.splitlines() if line.startswith("check_params:")]
    assert len(errors) == 1 and "nst.steps" in errors[0] and "git checkout params.yaml" in errors[0], output
    assert "Traceback" not in output
    assert tree_digest(repo / "reports") == before


def test_plots_diff_renders_offline_without_a_flag(repo: Path, tmp_path: Path) -> None:
    name = run(["dvc", "exp", "list", "--name-only"], repo, stdout_only=True).split()[0]
    run(["dvc", "plots", "diff", "HEAD", name, "-o", str(tmp_path / "plots")], repo)
    page = (tmp_path / "plots" / "index.html").read_text()
    assert "vegaEmbed" in page and "https://cdn" not in page  # the inlined template, not the CDN's
    assert page.count('"rev": "HEAD"') > 0 and page.count(f'"rev": "{name}"') > 0
