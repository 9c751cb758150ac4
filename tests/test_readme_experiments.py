"""Every `dvc exp run -S` example in README.md visibly changes the result of the default run (issue 19, item 4);
a `--queue` sweep's numeric values, once a run shows what their keys move, are validated but not run (below).

The examples come from the README's text, so a new one is covered without editing this file: every
`dvc exp run` line of a code block (lines continued with a backslash joined) and every inline code span
that is a `dvc exp run` command or a bare `-S ...` set (the GAN levers table's params column, prose such
as `-S gan.precision=bf16`). A `$(python -m apeart.presets NAME)` in a command (the seed presets table) is
run here and its words are the command's, as the shell would do. Each command is classified by an explicit
rule, and each rule is asserted:

- mention: `dvc exp run`, `dvc exp run -S`, `-S ...` or `-S texnet...` in prose: no `key=value` at all;
- network: sets `data.source=ipfs` (the real BAYC fetch needs the network): not run; its params are validated;
- refused: sets a value params.yaml's schema refuses (`nst.steps=abc`, shown as the one-line refusal): not run
  here (tests/test_card_workflow.py runs it); asserted to fail validation;
- template: a `<placeholder>` value (`nst.beta=<b>`); its key must be swept by a `--queue` example;
- `--queue` sweeps (`-S 'nst.beta=1e-7,1e-6,1e-5,1e-4'`) are expanded into one experiment per value, and
  DVC's own expansion of the README line is checked to be the same; a value equal to the default is the
  default run itself (the sweep's reference column), asserted to be the default and not run; the other values
  set the same keys as one run: numeric ones (one case per code path) are "swept", validated and not run, when
  a run example sets exactly those keys with the same targets (`dvc exp run -S nst.beta=1e-5`), else the first
  of them is run; every other value (a string, a list: `nst.optimizer=adam,lbfgs`) is run;
- larger than the default run: raises `data.limit`, `nst.size` or `nst.reconstruct_size` above params.yaml's
  (the seed000, seed001 and seed002 presets): run on the tiny params all the same, with its sets of the keys
  the tiny repo shrinks (`SCALE_KEYS`) dropped;
- everything else is run as written, once per distinct set of params (an example given twice runs once).

Each run is `dvc exp run <its -S sets> <targets>` in the workspace of a copy of the session's tiny run
(conftest's `built_repo`, restored with `git checkout -- . && dvc checkout --force` after each run); the card's
own `dvc exp run -S nst.beta=1e-5` is conftest's session run of it (`beta_experiment`). Each (a) must succeed, (b) must
write the params it sets, each different from the baseline's (a preset, which restates some defaults, at
least one), and (c) every checked stage it re-ran must have moved its PNGs by a mean absolute pixel
difference above `MIN_DIFF`. The checked stages are the fewest stages of `CHECKS` whose params (in dvc.yaml)
between them list every key the example sets that any of them lists (one case per code path: an NST preset is
seen through stylize, and reconstruct is checked only for the keys only it reads, which only the gatys-2016
preset sets, and those it scales down: no example checks reconstruct today); the targets are the README's
(every stage of `CHECKS` they reach is checked), else those stages: a GAN lever runs train_gan and sample_styles
but not the NST stages after them, which only consume the style batch compared here (the whole downstream
pipeline per lever would take minutes).

The baseline is the tiny run itself: repo_copy.TINY gives its GAN, NST and reconstruction enough steps that a
changed param can show.

Examples run two at a time (one repo copy each): most of each run is single-threaded DVC and Python start-up.
Runs use the copy's own `src/` (PYTHONPATH), the code its dvc.lock hashes, not the checkout's.

The docs/*.md pages the README names are read too, statically (no DVC): every page exists, every `-S` example
of theirs (a `--queue` sweep value by value, a preset's words) names a params.yaml key with a value its schema
accepts, and every `$(python -m apeart.presets NAME)` names a preset (expanded here in-process, as the module
prints it).
"""
from __future__ import annotations

import json
import os
import queue
import re
import shlex
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations, product
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from repo_copy import (
    BETA_EXPERIMENT,
    ROOT,
    TINY,
    TINY_IF_PRESENT,
    attempt,
    clone_built,
    ran,
    run,
)
from ruamel.yaml import YAML

from apeart.core.config import ParamsError
from apeart.params import parse_params
from apeart.presets import PRESETS, flags

pytestmark = pytest.mark.slow  # end to end: `pytest -m 'not slow'` is the fast inner loop

README = ROOT / "README.md"
# Mean absolute difference (0-1 pixel range) an example must make to the outputs of a stage it re-ran.
MIN_DIFF = 1 / 255
# A stage listing a param an example sets -> (the stage to run, the PNG or folder of PNGs it writes that is
# compared, the param sections that count). The texture network shares nst's loss keys: an nst example is
# checked where the README shows it (stylize), not by also training a texture network.
CHECKS = {
    "train_gan": ("sample_styles", "data/styles/gan", ("gan",)),  # the generator, seen through its style batch
    "sample_styles": ("sample_styles", "data/styles/gan", ("sample", "gan")),
    "stylize": ("stylize", "reports/nst/results", ("nst",)),
    "reconstruct": ("reconstruct", "reports/reconstruct", ("nst",)),
    "train_texnet": ("stylize_collection", "data/stylized", ("texnet",)),
    "stylize_collection": ("stylize_collection", "data/stylized", ("texnet",)),
    "train_vaegan": ("vaegan_figures", "reports/vaegan/samples.png", ("vaegan",)),  # the decoder's prior samples
}
NETWORK = ("data.source", "ipfs")  # examples that set it fetch the real BAYC: not run here
# An example raising one of these above params.yaml's default is larger than the default run (seeds 000 and
# 002's presets are paper scale: 10,000 images, 256-356 px, 2000 steps; seed 001's reconstructs at 128 px for
# 300 steps, a minute and more even in the tiny repo). It runs on the tiny params all the same: its sets of the
# keys the tiny repo shrinks (SCALE_KEYS) are dropped, so the baseline's values stay, and the rest is checked.
SCALE_UP = ("data.limit", "nst.size", "nst.reconstruct_size")
SCALE_KEYS = {f"{section}.{key}" for table in (TINY, TINY_IF_PRESENT)
              for section, values in table.items() for key in values}
WORKERS = min(2, os.cpu_count() or 1)


# ---- reading the README ------------------------------------------------------------------------------

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
PLACEHOLDER = re.compile(r"<[^<>]+>")
SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")


def code_spans(markdown: str) -> list[str]:
    """Every logical line of the fenced code blocks (backslash continuations joined), then every inline
    code span outside them (tables included)."""
    spans = []
    for block in FENCE.findall(markdown):
        spans += re.sub(r"\\\n", " ", block).splitlines()
    spans += INLINE.findall(FENCE.sub("", markdown))
    return spans


@dataclass(frozen=True)
class Command:
    """One README `dvc exp run` command: its `-S` values as written, flags and targets."""
    span: str
    sets: tuple[str, ...]  # "key=value" as the shell passes them to DVC
    targets: tuple[str, ...]
    queue: bool
    substituted: bool  # some words came from a `$(python ...)` in it (the seed presets)


def substitute(span: str) -> tuple[str, dict[str, list[str]]]:
    """Each `$(python ...)` of `span` run here, in the repo root: the span with a marker word in its place,
    and {marker: its output split into words} (a substitution's words keep their quotes, as in the shell)."""
    words: dict[str, list[str]] = {}

    def run_it(match: re.Match) -> str:
        cmd = shlex.split(match.group(1))
        assert cmd[0] == "python", f"README example {span!r}: only $(python ...) substitutions are run here"
        out = subprocess.run([sys.executable, *cmd[1:]], cwd=ROOT, capture_output=True, text=True, check=True)
        words[f"SUBSTITUTION{len(words)}"] = out.stdout.split()
        return f" SUBSTITUTION{len(words) - 1} "

    return SUBSTITUTION.sub(run_it, span), words


def commands(markdown: str, expand: Callable[[str], tuple[str, dict[str, list[str]]]] = substitute) -> list[Command]:
    """The `dvc exp run` commands of `markdown`'s code, `$(...)` expanded by `expand` (run, by default)."""
    found = []
    for span in code_spans(markdown):
        bare = span.lstrip().startswith("-S")
        if "dvc exp run" not in span and not bare:
            continue
        text, words = expand(span)
        tokens = [word for token in shlex.split(text, comments=True) for word in words.get(token, [token])]
        if bare:
            tokens = ["dvc", "exp", "run", *tokens]
        starts = [i for i in range(len(tokens) - 2) if tokens[i:i + 3] == ["dvc", "exp", "run"]]
        if not starts and tokens[-3:] == ["dvc", "exp", "run"]:
            starts = [len(tokens) - 3]
        if not starts:
            continue  # only inside a comment
        args, sets, targets, queued = iter(tokens[starts[0] + 3:]), [], [], False
        for token in args:
            if token in ("-S", "--set-param"):
                sets.append(next(args, ""))
            elif token == "--queue":
                queued = True
            elif token.startswith("-"):
                raise AssertionError(f"README example {span!r}: option {token} is new to this test; teach it")
            else:
                targets.append(token)
        found.append(Command(span, tuple(sets), tuple(targets), queued, bool(words)))
    return found


def split_sweep(value: str) -> list[str]:
    """Hydra's choice sweep `a,b,c` (what `dvc exp run --queue -S` expands), commas inside [] {} or quotes kept."""
    parts, depth, quote, current = [], 0, "", ""
    for char in value:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    return [*parts, current]


def yaml_value(text: str) -> Any:
    """A `-S` value as DVC writes it into params.yaml (`1e-5` a float, `""` empty, `[1,1]` a list)."""
    return YAML(typ="safe", pure=True).load(text)


@dataclass(frozen=True)
class Example:
    """One experiment: (key, value as written) pairs, and the stages the README names (usually none)."""
    sets: tuple[tuple[str, str], ...]
    targets: tuple[str, ...] = ()
    scaled_down: tuple[str, ...] = ()  # sets of a larger example left at the baseline's values
    sources: tuple[str, ...] = field(default=(), compare=False)  # README spans giving it
    substituted: bool = field(default=False, compare=False)  # its sets came from a `$(python ...)` (a preset)

    @property
    def values(self) -> dict[str, Any]:
        return {key: yaml_value(raw) for key, raw in self.sets}

    @property
    def id(self) -> str:
        scaled = f" (scaled down: {' '.join(v.split('=')[0] for v in self.scaled_down)})" if self.scaled_down else ""
        if self.substituted:  # a preset's dozen sets: its command as the README writes it
            return self.sources[0].replace("dvc exp run ", "", 1) + scaled
        return " ".join(f"{key}={raw}" for key, raw in self.sets) + "".join(f" [{t}]" for t in self.targets) + scaled


def load_yaml(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text())


def lookup(params: dict, key: str) -> Any:
    section, name = key.split(".", 1)
    return params[section][name]


def classify(markdown: str, defaults: dict) -> dict[str, list]:
    """{rule: [...]}: "mention", "template", "network" hold Commands; "default", "swept" and "run" Examples (a
    larger one with its SCALE_KEYS sets dropped, listed in `scaled_down`)."""
    out: dict[str, list] = {"mention": [], "template": [], "network": [], "refused": [], "default": [], "swept": [],
                            "run": []}
    runs: dict[Example, Example] = {}
    sweeps: list[Example] = []
    found = commands(markdown)
    for cmd in sorted(found, key=lambda c: c.queue):  # single runs first: a sweep over their keys runs none
        if all("=" not in value for value in cmd.sets):  # `-S`, `-S ...`, `-S texnet...`
            out["mention"].append(cmd)
            continue
        pairs = [tuple(value.split("=", 1)) for value in cmd.sets]
        assert all(len(pair) == 2 and pair[0] for pair in pairs), f"README example {cmd.span!r}: a -S without key=value"
        if any(PLACEHOLDER.fullmatch(raw) for _, raw in pairs):
            out["template"].append(cmd)
            continue
        if any((key, yaml_value(raw)) == NETWORK for key, raw in pairs):
            out["network"].append(cmd)
            continue
        if not cmd.queue and not valid({key: yaml_value(raw) for key, raw in pairs}, defaults):
            out["refused"].append(cmd)
            continue
        scaled_down: tuple[str, ...] = ()
        if any(key in SCALE_UP and yaml_value(raw) > lookup(defaults, key) for key, raw in pairs):
            scaled_down = tuple(f"{key}={raw}" for key, raw in pairs if key in SCALE_KEYS)
            pairs = [(key, raw) for key, raw in pairs if key not in SCALE_KEYS]
        choices = [[(key, raw) for raw in split_sweep(raw)] if cmd.queue else [(key, raw)] for key, raw in pairs]
        for combo in product(*choices):
            example = Example(tuple(combo), cmd.targets, scaled_down, (cmd.span,), cmd.substituted)
            if cmd.queue and all(lookup(defaults, key) == value for key, value in example.values.items()):
                out["default"].append(example)
            elif cmd.queue and example not in runs:
                sweeps.append(example)
            elif example in runs:
                runs[example] = Example(example.sets, example.targets, example.scaled_down,
                                        tuple(dict.fromkeys(runs[example].sources + example.sources)),
                                        runs[example].substituted and example.substituted)
            else:
                runs[example] = example
    for example in sweeps:  # one case per code path: a sweep's numbers set the keys of one run
        if numeric(example) and any(same_keys(run, example) for run in runs):
            out["swept"].append(example)
        else:
            runs[example] = example
    out["run"] = list(runs.values())
    return out


def numeric(example: Example) -> bool:
    """Whether every value `example` sets is a number (a bool is a switch: a code path of its own)."""
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in example.values.values())


def same_keys(run: Example, example: Example) -> bool:
    """Whether `run` sets exactly `example`'s keys and names the same targets."""
    return {key for key, _ in run.sets} == {key for key, _ in example.sets} and run.targets == example.targets


def valid(values: dict[str, Any], defaults: dict) -> bool:
    """Whether params.yaml with `values` set passes its schema."""
    params = json.loads(json.dumps(defaults))
    for key, value in values.items():
        section, name = key.split(".", 1)
        params[section][name] = value
    try:
        parse_params(params)
    except ParamsError:
        return False
    return True


DVC_YAML = load_yaml(ROOT / "dvc.yaml")["stages"]


def stages_listing(key: str) -> list[str]:
    """The stages of dvc.yaml whose params include `key` (or its whole section)."""
    return [name for name, stage in DVC_YAML.items()
            if any(isinstance(p, str) and (p == key or key.startswith(p + ".")) for p in stage.get("params", []))]


def keys_read(example: Example) -> dict[str, set[str]]:
    """{stage of CHECKS: the keys of the example it reads}, for the stages that read any (in CHECKS' order; the
    others, e.g. report, have no PNG check)."""
    reads = {stage: {key for key, _ in example.sets if stage in stages_listing(key) and key.split(".")[0] in sections}
             for stage, (_, _, sections) in CHECKS.items()}
    return {stage: keys for stage, keys in reads.items() if keys}


def checked_stages(example: Example) -> list[str]:
    """The stages of CHECKS that the example's params reach."""
    return sorted(keys_read(example))


def covering_stages(example: Example) -> list[str]:
    """The fewest checked stages that between them read every key the example sets that any of them reads, first
    in CHECKS' order (one case per code path: an nst example is seen through stylize, reconstruct only for the keys
    only it reads); every checked stage where the README names targets (what they run is checked)."""
    reads = keys_read(example)
    if example.targets:
        return sorted(reads)
    every = set().union(*reads.values())
    return sorted(next((cover for size in range(1, len(reads) + 1) for cover in combinations(reads, size)
                        if set().union(*(reads[s] for s in cover)) == every), ()))


def run_targets(example: Example) -> tuple[str, ...]:
    return example.targets or tuple(sorted({CHECKS[stage][0] for stage in covering_stages(example)}))


MARKDOWN = README.read_text()
ROOT_PARAMS = load_yaml(ROOT / "params.yaml")
RULES = classify(MARKDOWN, ROOT_PARAMS)
# Examples whose effect is known to be invisible go here as {id: reason}, each an xfail(strict=True).
INVISIBLE: dict[str, str] = {}


# ---- the static rules (no DVC) -----------------------------------------------------------------------

def test_every_readme_example_is_run_or_excluded_by_an_asserted_rule() -> None:
    commands_found = commands(MARKDOWN)
    assert RULES["run"], "no runnable `dvc exp run -S` example found in README.md"
    # Every `-S` cell of a table's params column (a levers table) is an example here.
    for table in re.findall(r"(?:^\|.*\n)+", FENCE.sub("", MARKDOWN), re.MULTILINE):
        rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.splitlines()]
        if "params" not in rows[0]:
            continue
        column = rows[0].index("params")
        cells = [row[column].strip("`") for row in rows[2:] if row[column]]
        assert cells and all(cell in {c.span for c in commands_found} for cell in cells), (table, cells)
    for cmd in RULES["mention"]:  # prose about the command, no example: nothing it could set
        assert "=" not in cmd.span, cmd.span
    for cmd in RULES["network"]:  # not run: fetching the real collection needs the network
        assert f"{NETWORK[0]}={NETWORK[1]}" in cmd.sets, cmd.span
    for cmd in RULES["refused"]:  # the documented refusal: its value fails the schema
        assert not valid({k: yaml_value(v) for k, v in (s.split("=", 1) for s in cmd.sets)}, ROOT_PARAMS), cmd.span
    for example in RULES["run"]:  # larger than the default: run with the tiny repo's sizes, the rest of its sets kept
        if example.scaled_down:
            dropped = dict(value.split("=", 1) for value in example.scaled_down)
            raised = [key for key in SCALE_UP if yaml_value(dropped.get(key, "0")) > lookup(ROOT_PARAMS, key)]
            assert raised, example.id
            assert set(dropped) <= SCALE_KEYS and example.sets, example.id
    swept = {key for cmd in commands_found if cmd.queue for key, _ in (value.split("=", 1) for value in cmd.sets)}
    for cmd in RULES["template"]:  # `-S nst.beta=<b>`: stands for the values of a `--queue` sweep
        assert {value.split("=", 1)[0] for value in cmd.sets} <= swept, cmd.span
    for example in RULES["default"]:  # the sweep's reference column: the default run itself
        assert all(c.queue for c in commands_found if c.span in example.sources), example
        assert all(lookup(ROOT_PARAMS, key) == value for key, value in example.values.items()), example
    for example in RULES["swept"]:  # a sweep's other numbers: the keys of a run, which shows what they move
        assert all(c.queue for c in commands_found if c.span in example.sources), example
        assert numeric(example) and any(same_keys(run, example) for run in RULES["run"]), example
    for cmd in commands_found:  # none fell through: each span is in exactly one class (or gave runs)
        classes = [rule for rule in ("mention", "template", "network", "refused") if cmd in RULES[rule]]
        classes += [rule for rule in ("default", "swept", "run") if any(cmd.span in e.sources for e in RULES[rule])]
        assert classes and (len(classes) == 1 or set(classes) <= {"default", "swept", "run"}), (cmd.span, classes)


def test_every_example_sets_valid_params_including_the_ones_not_run() -> None:
    """The params of each example, in full (network and larger ones too), pass params.yaml's
    validation on the real defaults."""
    whole = [Example(tuple(tuple(v.split("=", 1)) for v in cmd.sets)) for cmd in commands(MARKDOWN)
             if not cmd.queue and cmd not in RULES["mention"] + RULES["template"] + RULES["refused"]]
    for example in [*RULES["run"], *RULES["default"], *RULES["swept"], *whole]:
        assert all(key.split(".", 1)[1] in ROOT_PARAMS[key.split(".", 1)[0]] for key in example.values), example.id
        assert valid(example.values, ROOT_PARAMS), example.id
    for example in RULES["run"]:  # each run has outputs to compare
        assert checked_stages(example), f"{example.id}: no stage of CHECKS ({sorted(CHECKS)}) lists its params"


def test_sweep_values_split_like_hydra() -> None:
    assert split_sweep("1e-7,1e-6") == ["1e-7", "1e-6"]
    assert split_sweep("[1,1],[0,1]") == ["[1,1]", "[0,1]"]
    assert split_sweep("'a,b',c") == ["'a,b'", "c"]


# ---- the docs the README names (static) --------------------------------------------------------------

DOCS = sorted(dict.fromkeys(re.findall(r"docs/[\w./-]+\.md", MARKDOWN)))
PRESET_CALL = re.compile(r"python -m apeart\.presets ([\w-]+)")


def preset_words(span: str) -> tuple[str, dict[str, list[str]]]:
    """`substitute` for the docs, without a process: each `$(python -m apeart.presets NAME)` -> its -S words."""
    words: dict[str, list[str]] = {}

    def expand(match: re.Match) -> str:
        call = PRESET_CALL.fullmatch(match.group(1).strip())
        assert call, f"{span!r}: only $(python -m apeart.presets NAME) is expanded in the docs"
        assert call.group(1) in PRESETS, f"{span!r}: no preset {call.group(1)!r} (known: {', '.join(PRESETS)})"
        words[f"SUBSTITUTION{len(words)}"] = flags(call.group(1))
        return f" SUBSTITUTION{len(words) - 1} "

    return SUBSTITUTION.sub(expand, span), words


def settings(cmd: Command) -> list[dict[str, Any]]:
    """The params each experiment of `cmd` sets: one dict, or one per combination of a `--queue` sweep."""
    pairs = [value.split("=", 1) for value in cmd.sets]
    assert all(len(pair) == 2 and pair[0] for pair in pairs), f"{cmd.span!r}: a -S without key=value"
    choices = [[(key, yaml_value(raw)) for raw in (split_sweep(raw) if cmd.queue else [raw])] for key, raw in pairs]
    return [dict(combo) for combo in product(*choices)]


def docs_examples(markdown: str) -> list[Command]:
    """The examples of a page that set something (prose like `-S ...` sets nothing); templates (`<b>`) left out."""
    return [cmd for cmd in commands(markdown, preset_words)
            if any("=" in value for value in cmd.sets) and not any(PLACEHOLDER.search(value) for value in cmd.sets)]


def documented_refusal(markdown: str, span: str) -> bool:
    """Whether the line showing `span` says it is refused (a faults table row: the input and its one-line error)."""
    return any(span in line and re.search(r"\brefused\b", line) for line in markdown.splitlines())


def test_the_docs_the_readme_names_exist() -> None:
    assert DOCS, "README.md names no docs/*.md page"
    missing = [page for page in DOCS if not (ROOT / page).is_file()]
    assert not missing, f"README.md names pages that do not exist: {missing}"


@pytest.mark.parametrize("page", DOCS)
def test_docs_examples_set_valid_params(page: str) -> None:
    """Each `-S` example of a page the README names sets params.yaml keys to values its schema accepts; each
    `--queue` sweep value by value; each preset it calls exists."""
    markdown = (ROOT / page).read_text()
    for name in PRESET_CALL.findall(markdown):
        if name != "NAME":  # the usage line
            assert name in PRESETS, f"{page}: no preset {name!r} (known: {', '.join(PRESETS)})"
    for cmd in docs_examples(markdown):
        refusal = documented_refusal(markdown, cmd.span)
        for values in settings(cmd):
            unknown = [key for key in values if "." not in key or key.split(".", 1)[0] not in ROOT_PARAMS
                       or key.split(".", 1)[1] not in ROOT_PARAMS[key.split(".", 1)[0]]]
            assert not unknown, f"{page}: {cmd.span!r} sets keys params.yaml does not have: {unknown}"
            assert valid(values, ROOT_PARAMS) != refusal, (
                f"{page}: {cmd.span!r} sets {values}: " + ("documented as refused, but params.yaml's schema accepts it"
                                                           if refusal else "params.yaml's schema refuses it"))


def test_docs_checks_catch_a_wrong_example() -> None:
    """The docs checks refuse what a stale page would say: an unknown preset, an invalid value, an unknown key."""
    with pytest.raises(AssertionError, match="no preset"):
        docs_examples("`dvc exp run $(python -m apeart.presets no-such-preset)`")
    [bad_value] = docs_examples("`dvc exp run -S nst.steps=abc`")
    assert not any(valid(values, ROOT_PARAMS) for values in settings(bad_value))
    [sweep] = docs_examples("`dvc exp run --queue -S 'nst.beta=1e-6,abc'`")
    assert [valid(values, ROOT_PARAMS) for values in settings(sweep)] == [True, False]
    assert documented_refusal("| `-S nst.steps=abc` | refused in one line |", "-S nst.steps=abc")
    assert not documented_refusal("`-S nst.steps=abc` runs", "-S nst.steps=abc")
    [preset] = docs_examples("`dvc exp run $(python -m apeart.presets gatys-2016)`")
    assert preset.sets == tuple(flags("gatys-2016")[1::2])


# ---- DVC ---------------------------------------------------------------------------------------------

def code_env(repo: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(repo / "src")}


def pngs(path: Path) -> dict[str, np.ndarray]:
    """{name: RGB in 0-1} of the PNG `path` or of every PNG under the folder `path`."""
    files = [path] if path.is_file() else sorted(path.rglob("*.png"))
    return {p.name if p == path else p.relative_to(path).as_posix():
            np.asarray(Image.open(p).convert("RGB"), dtype=np.float64) / 255 for p in files}


def pixel_diffs(folder: Path, baseline: dict[str, np.ndarray]) -> dict[str, float]:
    """{file: mean |new - baseline|} over the baseline's PNGs (inf where missing or resized)."""
    now = pngs(folder)
    return {name: float(np.abs(now[name] - old).mean()) if name in now and now[name].shape == old.shape
            else float("inf") for name, old in baseline.items()}


@dataclass
class Result:
    code: int
    output: str
    seconds: float
    params: dict
    diffs: dict[str, dict[str, float]]  # folder -> file -> mean abs difference


def restore(repo: Path) -> None:
    run(["git", "checkout", "--", "."], repo)
    run(["git", "clean", "-fdq"], repo)  # untracked files a stage may have added (ignored ones stay: outputs, caches)
    run(["dvc", "checkout", "--force", "-q"], repo)
    assert run(["git", "status", "--porcelain"], repo, stdout_only=True) == ""


def exp_run(example: Example, targets: tuple[str, ...]) -> list[str]:
    """`dvc exp run` with `example`'s sets, as the shell passes them, and `targets`."""
    return ["dvc", "exp", "run", *(arg for key, raw in example.sets for arg in ("-S", f"{key}={raw}")), *targets]


def checked_diffs(repo: Path, output: str, base: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """`pixel_diffs` of each CHECKS folder whose stage `output` says ran in `repo`."""
    return {folder: pixel_diffs(repo / folder, base[folder]) for stage, folder, _ in CHECKS.values()
            if stage in ran(output)}


def run_example(repo: Path, example: Example, base: dict[str, dict[str, np.ndarray]]) -> Result:
    start = time.monotonic()
    code, output = attempt(exp_run(example, run_targets(example)), repo, **code_env(repo))
    seconds = time.monotonic() - start
    result = Result(code, output, seconds, load_yaml(repo / "params.yaml"), checked_diffs(repo, output, base))
    restore(repo)
    return result


def is_card_command(example: Example) -> bool:
    """Whether `example` is conftest's session experiment (repo_copy.BETA_EXPERIMENT) exactly as typed."""
    return exp_run(example, example.targets) == BETA_EXPERIMENT


def reused(done: tuple[Path, str], base: dict[str, dict[str, np.ndarray]]) -> Result:
    """The result of an example from a repo where it already ran (`done`: the repo and the command's output)."""
    repo, output = done
    return Result(0, output, 0.0, load_yaml(repo / "params.yaml"), checked_diffs(repo, output, base))


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest, built_repo: Path,
            tmp_path_factory: pytest.TempPathFactory) -> dict[Example, Result]:
    """Runs the selected examples, WORKERS at a time (one repo copy each), slowest-looking first; the card's
    command is the session's run of it."""
    def example_of(item: pytest.Item) -> Example | None:
        return getattr(getattr(item, "callspec", None), "params", {}).get("example")

    selected = [example_of(item) for item in request.session.items
                if getattr(item, "module", None) is request.module and example_of(item) is not None]
    base = {folder: pngs(built_repo / folder) for _, folder, _ in CHECKS.values()}
    card = [e for e in selected if is_card_command(e)]
    selected = [e for e in selected if e not in card]

    def fresh_copy() -> Path:
        return clone_built(built_repo, tmp_path_factory.mktemp("readme_experiments") / "apeart")

    copies: queue.Queue[Path] = queue.Queue()
    for _ in range(min(WORKERS, len(selected))):
        copies.put(fresh_copy())

    def task(example: Example) -> Result:
        repo = copies.get()
        try:
            result = run_example(repo, example, base)
        except (AssertionError, OSError, subprocess.SubprocessError):  # e.g. a failed restore: a new copy for the next
            result, repo = Result(-1, traceback.format_exc(), 0.0, {}, {}), fresh_copy()
        copies.put(repo)
        return result

    def cost(example: Example) -> tuple:  # long runs first, so the two workers finish together
        steps = sum(v for k, v in example.values.items() if "steps" in k and isinstance(v, int))
        return (-steps, -len(run_targets(example)), "train_gan" not in checked_stages(example))

    order = sorted(dict.fromkeys(selected), key=cost)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        done = dict(zip(order, pool.map(task, order)))
    # After the pool: meanwhile another worker has likely built the session's run of the card's command.
    done.update({e: reused(request.getfixturevalue("beta_experiment"), base) for e in card})
    for example, result in done.items():
        print(f"{example.id}: {result.seconds:.0f} s, " + ", ".join(
            f"{folder} {np.mean(list(d.values())) * 255:.2f}/255" for folder, d in result.diffs.items()))
    return done


def param(example: Example) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=INVISIBLE[example.id])] if example.id in INVISIBLE else []
    return pytest.param(example, id=example.id, marks=marks)


@pytest.mark.parametrize("example", [param(e) for e in RULES["run"]])
def test_readme_example_visibly_changes_the_default_run(example: Example, results: dict[Example, Result],
                                                        built_repo: Path) -> None:
    result = results[example]
    command = " ".join(exp_run(example, example.targets if is_card_command(example) else run_targets(example)))
    assert result.code == 0, f"{command} failed:\n{result.output[-4000:]}"
    base_params = load_yaml(built_repo / "params.yaml")
    for key, value in example.values.items():
        assert lookup(result.params, key) == value, f"{command}: params.yaml has {key}={lookup(result.params, key)!r}"
    same = [key for key, value in example.values.items() if lookup(base_params, key) == value]
    if example.substituted:  # a seed preset restates some defaults (seed001's nst.optimizer=lbfgs): one must change
        assert len(same) < len(example.values), f"{command}: every value is the default's: nothing to see"
    else:
        assert not same, f"{command}: {same} already have these values in the default run: nothing to see"
    stages = ran(result.output)
    expected = {CHECKS[stage][:2] for stage in covering_stages(example) if CHECKS[stage][0] in stages}
    assert expected, f"{command} re-ran {sorted(stages)}, none of {covering_stages(example)} checked here"
    for _, folder in sorted(expected):
        per_file = result.diffs[folder]
        assert per_file, f"{command}: the baseline has no PNG under {folder}"
        mean = float(np.mean(list(per_file.values())))
        shown = {name: round(d * 255, 2) for name, d in per_file.items()}
        assert mean > MIN_DIFF, (f"{command}: {folder} moved by {mean * 255:.3f}/255 on average from the default "
                                 f"run (per file, /255: {shown}); visible means > {MIN_DIFF * 255:.0f}/255")


def test_queue_examples_expand_as_dvc_does(built_repo: Path, tmp_path: Path) -> None:
    """Each README `--queue` line, queued by DVC itself: the queued experiments' params are the expansion
    run above (plus the default column), then the queue is emptied."""
    queued_cmds = [cmd for cmd in commands(MARKDOWN) if cmd.queue and cmd not in RULES["mention"]]
    assert queued_cmds, "no `dvc exp run --queue` example in README.md"
    repo = clone_built(built_repo, tmp_path / "apeart")
    for cmd in queued_cmds:
        run(["dvc", "exp", "run", "--queue", *(a for v in cmd.sets for a in ("-S", v)), *cmd.targets], repo)
        shown = json.loads(run(["dvc", "exp", "show", "--json"], repo, stdout_only=True))
        queued = [rev["data"]["params"]["params.yaml"]["data"]
                  for entry in shown for exp in entry.get("experiments") or []
                  if (exp.get("executor") or {}).get("state") == "queued" for rev in exp["revs"]]
        keys = [value.split("=", 1)[0] for value in cmd.sets]
        got = sorted(json.dumps([lookup(params, key) for key in keys]) for params in queued)
        ours = [e for rule in ("run", "default", "swept") for e in RULES[rule] if cmd.span in e.sources]
        want = sorted(json.dumps([e.values[key] for key in keys]) for e in ours)
        assert got == want, f"{cmd.span}: DVC queued {got}, this test expands it to {want}"
        run(["dvc", "queue", "remove", "--queued"], repo)
