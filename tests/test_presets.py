"""Every seed setup the README offers is one command that yields valid params meaning what the seed meant."""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from apeart import presets
from apeart.params import Params, parse_params

ROOT = Path(__file__).resolve().parents[1]
COMMAND = re.compile(r"dvc exp run \$\(python -m apeart\.presets ([\w-]+)\)")
FIRST_OF_BLOCKS = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
TUTORIAL_STYLE = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"]


def with_preset(name: str) -> Params:
    """params.yaml with the preset's `-S key=value` words applied as `dvc exp run -S` does (YAML values)."""
    raw = copy.deepcopy(YAML(typ="safe").load(ROOT / "params.yaml"))
    words = presets.flags(name)
    assert words[::2] == ["-S"] * (len(words) // 2)
    for word in words[1::2]:
        key, value = word.split("=", 1)
        section, field = key.split(".")
        assert field in raw[section], f"{name}: {key} is no key of params.yaml"
        raw[section][field] = YAML(typ="safe").load(value)
    return parse_params(raw)


def test_the_readme_offers_every_preset_and_only_those() -> None:
    assert set(COMMAND.findall((ROOT / "README.md").read_text())) == set(presets.PRESETS)


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_each_preset_is_valid_and_every_value_arrives(name: str) -> None:
    params = with_preset(name)
    for key, value in presets.PRESETS[name][1].items():
        section, field = key.split(".")
        assert getattr(getattr(params, section), field) == YAML(typ="safe").load(value) or \
            float(getattr(getattr(params, section), field)) == float(value), key


def test_the_presets_mean_what_the_seeds_describe() -> None:
    s0 = with_preset("dcgan-gatys-paper")
    assert s0.nst.content_layers == s0.nst.style_layers == FIRST_OF_BLOCKS
    assert (s0.nst.gram_norm, s0.nst.optimizer, s0.nst.size, s0.nst.steps) == ("sum356", "adam", 356, 2000)
    assert (s0.gan.batch_size, s0.gan.epochs, s0.gan.ngf, s0.gan.lr, s0.gan.diffaugment) == (64, 25, 64, 2e-4, "")
    assert s0.nst.sweep_betas == [1e-7, 1e-6, 1e-5, 1e-4] and s0.data.limit == 10000
    s2 = with_preset("tutorial-texnet")
    assert (s2.nst.content_layers, s2.nst.style_layers) == (["conv2_2"], TUTORIAL_STYLE)
    assert (s2.nst.gram_norm, s2.nst.beta, s2.nst.alpha, s2.nst.steps, s2.nst.init, s2.nst.size) == (
        "mean", 1e10, 1.0, 300, "noise", 256)
    assert (s2.texnet.lr, s2.texnet.epochs, s2.texnet.batch_size, s2.texnet.size, s2.texnet.train_images) == (
        0.1, 600, 1, 256, 18)
    s3 = with_preset("ast-gan")
    assert (s3.gan.leaky_slope, s3.gan.real_label, s3.gan.real_label_late) == (0.3, 0.85, 0.95)
    assert s3.nst.beta == 5e4 and 5e4 in s3.nst.sweep_betas and s3.nst.style_source == "gan"
    s4 = with_preset("gatys-thesis")
    assert s4.nst.steps == 20 and s4.nst.tv_weight > 0 and s4.nst.optimizer == "lbfgs"


def test_the_command_prints_words_the_shell_keeps_whole() -> None:
    out = subprocess.run([sys.executable, "-m", "apeart.presets", "tutorial-texnet"], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == presets.flags("tutorial-texnet")  # $(...) splits on whitespace only
    bad = subprocess.run([sys.executable, "-m", "apeart.presets", "gatys-2061"], capture_output=True, text=True)
    assert bad.returncode == 2 and "gatys-2016:" in bad.stderr and bad.stdout.startswith("--unknown-apeart-preset")


def test_an_unknown_preset_stops_dvc_exp_run(tmp_path: Path) -> None:
    """`dvc exp run $(python -m apeart.presets typo)` fails before DVC runs anything (not a bare `dvc exp run`)."""
    words = subprocess.run([sys.executable, "-m", "apeart.presets", "typo"], capture_output=True, text=True).stdout
    dvc = Path(sys.executable).with_name("dvc")
    run = subprocess.run([str(dvc), "exp", "run", *words.split()], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0 and "unrecognized arguments: --unknown-apeart-preset=typo" in run.stderr



@pytest.mark.slow
def test_the_readme_names_the_stages_each_preset_makes_stale(tmp_path: Path) -> None:
    """The README's presets table lists exactly the stages whose params `dvc status` finds changed once the
    preset's values are in the committed params.yaml (a git clone: the committed dvc.lock, no outputs needed)."""
    from repo_copy import run
    rows = {m[1]: {s.strip() for s in m[2].split(",")} for m in re.finditer(
        r"apeart\.presets ([\w-]+)\)` \| ([a-z_, ]+) \|", (ROOT / "README.md").read_text())}
    assert set(rows) == set(presets.PRESETS)
    repo = tmp_path / "apeart"
    run(["git", "clone", "-q", str(ROOT), str(repo)], tmp_path)
    committed = (repo / "params.yaml").read_text()
    for name, listed in rows.items():
        yaml = YAML()
        params = yaml.load(committed)
        for key, value in presets.PRESETS[name][1].items():
            section, field = key.split(".")
            params[section][field] = YAML(typ="safe").load(value)
        yaml.dump(params, repo / "params.yaml")
        status = json.loads(run(["dvc", "status", "--json", "dvc.yaml"], repo, stdout_only=True))
        changed = {stage for stage, entries in status.items() for entry in entries if isinstance(entry, dict)
                   and isinstance((entry.get("changed deps") or {}).get("params.yaml"), dict)}
        assert changed == listed, name
