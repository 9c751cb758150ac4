"""Params loading and validation."""
import dataclasses
import re
import typing
from pathlib import Path
from typing import Literal

import pytest
from ruamel.yaml import YAML

import defaults
from apeart.core.config import ParamsError
from apeart.params import Params, load_params, parse_params

ROOT = Path(__file__).resolve().parents[1]
KEYS = [(section, f.name, typing.get_type_hints(cls)[f.name]) for section, cls in typing.get_type_hints(Params).items()
        for f in dataclasses.fields(cls)]  # (section, key, type hint) of every param
NUMBERS = (int, float, list[int], list[float])  # the hints whose values are numbers (or lists of them)
OTHERS = (bool, str, list[str])  # the rest: besides Literal[...], no other hint is in the schema


def one_key_per_type(hints: tuple = ()) -> list[tuple[str, str, object]]:
    """The first key of each distinct type hint (of those in `hints`, or of all), and of each section: the schema
    checks a key by its type alone, so one key per type and section covers every way a key is read."""
    first: dict = {}
    for section, key, hint in KEYS:
        if not hints or hint in hints:
            first.setdefault(hint, (section, key, hint))
            first.setdefault(section, (section, key, hint))
    return sorted(set(first.values()), key=str)


def test_every_type_in_the_schema_is_covered() -> None:
    """A new kind of hint (an Optional, a dict) would have no case below: it must be added to NUMBERS or OTHERS."""
    unknown = {str(hint) for _, _, hint in KEYS if hint not in NUMBERS + OTHERS and typing.get_origin(hint) is not Literal}
    assert not unknown, f"params typed {sorted(unknown)}: add a case for them"
    assert {hint for _, _, hint in KEYS} >= set(NUMBERS)  # each numeric kind is in the schema, so tested below


def test_params_yaml_is_the_one_source_of_values() -> None:
    """The dataclasses are the schema: no field has a default, so every value comes from params.yaml."""
    with_default = [f"{section}.{f.name}" for section, cls in typing.get_type_hints(Params).items()
                    for f in dataclasses.fields(cls)
                    if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
    assert not with_default
    assert load_params(ROOT / "params.yaml") == defaults.PARAMS


def test_a_missing_key_is_named() -> None:
    """One code path (the schema's field walk), looped over one key of each type and of each section."""
    for section, key, _ in one_key_per_type():
        raw = defaults.raw({})
        del raw[section][key]
        with pytest.raises(ParamsError, match=rf"^{section}\.{key}: missing"):
            parse_params(raw)


def test_a_missing_section_is_named() -> None:
    raw = defaults.raw({})
    del raw["texnet"]
    with pytest.raises(ParamsError, match=r"^texnet: missing"):
        parse_params(raw)


def test_dvc_exp_written_float_is_read_as_float(tmp_path: Path) -> None:
    # What `dvc exp run -S nst.beta=1e-5` writes; PyYAML's safe_load returns the string '1e-05'.
    text = re.sub(r"(?m)^  beta: \S+", "  beta: 1e-05", (ROOT / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(text)
    beta = load_params(tmp_path / "params.yaml").nst.beta
    assert isinstance(beta, float) and beta == 1e-05


def test_numeric_strings_are_coerced_by_type() -> None:
    params = defaults.parse({"nst": {"beta": "1e-05", "steps": "7"}, "gan": {"lr": "2e-4"}})
    assert params.nst.beta == 1e-05 and params.nst.steps == 7 and params.gan.lr == 2e-4


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"nst": {"bta": 1}}, "nst.bta: unknown parameter"),
        ({"nstx": {}}, "nstx: unknown parameter"),
        ({"nst": {"steps": 0}}, "nst.steps: 0 is out of range"),
        ({"nst": {"steps": 1.5}}, "nst.steps: expected an integer"),
        ({"nst": {"optimizer": "rmsprop"}}, "nst.optimizer: 'rmsprop' is not allowed; choose one of lbfgs, adam"),
        ({"gan": {"lr": "fast"}}, "gan.lr: expected a number"),
        ({"gan": {"lr": 0}}, "gan.lr: 0.0 is out of range; allowed > 0"),
        ({"data": {"source": "s3"}}, "data.source: 's3' is not allowed"),
        ({"data": {"gateways": ["ftp://x"]}}, "data.gateways: gateway 'ftp://x': need an http:// or https:// URL"),
        ({"nst": {"style_layers": ["conv9_1"]}}, "nst.style_layers: unknown layer 'conv9_1'"),
        ({"nst": {"style_layer_weights": [1.0]}}, "nst.style_layer_weights: 1 weights for 5 style layers"),
        ({"nst": {"backbone": "vgg16", "content_layers": ["conv4_4"]}}, "vgg16 has no"),
        ({"nst": {"content_layers": "conv4_2"}}, "nst.content_layers: expected a list"),
        ({"nst": 3}, "nst: expected a mapping, got 3"),
        ({"gan": {"beta1": 1.0}}, "gan.beta1: 1.0 is out of range; allowed >= 0 and < 1"),
        ({"vaegan": {"beta2": 1}}, "vaegan.beta2: 1.0 is out of range; allowed >= 0 and < 1"),
        ({"sample": {"seed": 2**64}}, f"sample.seed: {2**64} is out of range; allowed >= 0 and <= 4294967295"),
        ({"texnet": {"seed": 10**30}}, f"texnet.seed: {10**30} is out of range"),  # an integer, not "expected one"
        ({"nst": {"alpha": 0, "beta": 0}}, "nst.alpha and nst.beta are both 0"),
        ({"data": {"manifest_path": "a\0b"}}, r"data.manifest_path: 'a\\x00b' contains a NUL character"),
    ],
)
def test_bad_params_name_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ParamsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        defaults.parse(raw)


@pytest.mark.parametrize("bad", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_refused_naming_the_key(tmp_path: Path, bad: str) -> None:
    """`.nan`/`.inf` in params.yaml (scalars and list items) -> ParamsError naming the key, never OverflowError;
    one case per value, looped over one key of each numeric type (int, float and lists of them) and section."""
    for section, key, hint in one_key_per_type(NUMBERS):
        listed = typing.get_origin(hint) is list
        YAML().dump(defaults.raw({section: {key: "__NONFINITE__"}}), tmp_path / "params.yaml")
        text = (tmp_path / "params.yaml").read_text().replace("__NONFINITE__", f"[1, {bad}]" if listed else bad)
        (tmp_path / "params.yaml").write_text(text)
        name = f"{section}.{key}[1]" if listed else f"{section}.{key}"
        with pytest.raises(ParamsError, match=re.escape(f"{name}: {float(bad.replace('.', ''))!r} is not a finite")):
            load_params(tmp_path / "params.yaml")


@pytest.mark.parametrize("gateways", [[], ["http://"], ["https:///ipfs"], ["http://[::1"],
                                      ["http://user:pw@127.0.0.1:9"], ["http://127.0.0.1:9/?x=1"]])
def test_gateways_need_one_url_with_a_host(gateways: list[str]) -> None:
    with pytest.raises(ParamsError, match="data.gateways"):
        defaults.parse({"data": {"gateways": gateways}})


def test_the_tutorials_layer_names_are_aliases_of_ours() -> None:
    """Seed 002's `conv_4` is our conv2_2 and its `conv_2` our conv1_2 (the tutorial counts every conv)."""
    nst = defaults.parse({"nst": {"content_layers": ["conv_4"], "style_layers": ["conv_1", "conv_2", "conv_3", "conv_5"],
                                "reconstruct_content_layers": ["conv_16"]}}).nst
    assert nst.content_layers == ["conv2_2"] and nst.style_layers == ["conv1_1", "conv1_2", "conv2_1", "conv3_1"]
    assert nst.reconstruct_content_layers == ["conv5_4"]
    with pytest.raises(ParamsError, match="unknown layer 'conv_17'"):
        defaults.parse({"nst": {"style_layers": ["conv_17"]}})


@pytest.mark.parametrize(("text", "message"), [
    (b"gan: [\n", "params.yaml: not valid YAML, line 2: expected the node content"),
    (b"gan: 1\ngan: 2\n", "params.yaml: not valid YAML, line 2: found duplicate key \"gan\""),
    (b"gan: !!python/object:os.system {}\n", "params.yaml: not valid YAML, line 1: could not determine a constructor"),
    (b"gan: \xff\xfe\n", "params.yaml: not UTF-8 text"),
])
def test_a_params_file_that_is_not_yaml_is_one_line(tmp_path: Path, text: bytes, message: str) -> None:
    (tmp_path / "params.yaml").write_bytes(text)
    with pytest.raises(ParamsError, match=re.escape(message)):
        load_params(tmp_path / "params.yaml")


def test_an_unreadable_params_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="params.yaml: cannot read: No such file"):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").mkdir()
    with pytest.raises(ParamsError, match="params.yaml: cannot read: Is a directory"):
        load_params(tmp_path / "params.yaml")
