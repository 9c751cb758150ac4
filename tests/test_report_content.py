"""The report's words without DVC: the headline rows read the metrics they name, and the page lists every
section, says which figures a run did not produce and summarises the params in its subtitle."""
from __future__ import annotations

import re
from pathlib import Path

import defaults
import pytest

from apeart.report.content import headline, page, read_metrics

METRICS = {
    "gan": {"fd_vgg19": 43.19, "kid_vgg19": 0.0123, "real_floor": {"fd_vgg19": 1.5},
            "untrained_ceiling": {"fd_vgg19": 250.0}},
    "vaegan": {"fd_vgg19": 121.8, "kid_vgg19": 0.0456, "real_floor": {"fd_vgg19": 1.5},
               "untrained_ceiling": {"fd_vgg19": 260.0}},
    "nst": {"total_loss": 5.943e8, "content_loss": 3.0e8, "style_loss": 2.9e14},
    "texnet": {"loss_vs_gatys": 1.4112, "held_out": {"total_loss": 7.5e8, "content_loss": 4.0e8,
                                                     "gatys_total_loss": 5.3e8, "gatys_content_loss": 3.3e8}},
}


def test_the_headline_reads_each_metric_it_names() -> None:
    rows = {what: (value, reading) for what, value, reading in headline(METRICS)}
    assert rows["DCGAN sample quality, fd_vgg19"] == (
        "43.2", "lower is better: real vs real 1.50, untrained generator 250.0")
    assert rows["VAE-GAN sample quality, fd_vgg19"][1].endswith("KID 0.046 vs the DCGAN's 0.012")
    assert rows["Gatys NST total loss (stylize)"][0] == "5.943e+08"
    value, reading = rows["Texture network / Gatys total loss"]
    assert value == "1.41" and "texture network 7.5e+08 (content 4e+08), Gatys 5.3e+08 (content 3.3e+08)" in reading


def test_metrics_files_merge_under_their_namespace(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"texnet": {"train": {"total_loss": 2.0}}}')
    (tmp_path / "b.json").write_text('{"texnet": {"loss_vs_gatys": 1.2}, "nst": {"total_loss": 3.0}}')
    assert read_metrics([tmp_path / "a.json", tmp_path / "b.json"]) == {
        "texnet": {"train": {"total_loss": 2.0}, "loss_vs_gatys": 1.2}, "nst": {"total_loss": 3.0}}


def test_a_run_without_figures_still_gives_every_section_and_says_what_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no reports/ here: no figure was produced
    params = defaults.parse({"nst": {"steps": 7, "beta": 1e-5}, "texnet": {"train_images": 0}})
    html = page(params, METRICS)
    headings = re.findall(r"<h2 id=\"[^\"]+\">([^<]+)</h2>", html)
    assert headings == ["Results", "Neural style transfer", "Texture network", "GAN training", "VAE-GAN (seed 003)",
                        "Metrics", "Parameters"]  # no style batch, no gallery: the empty section is left out
    assert ("Held-out images: content | Gatys | texture network (same style, size and loss): not produced by this run."
            in html)
    assert "data:image/png" not in html
    assert "NST 7 lbfgs steps" in html and "beta 1e-05" in html and "on all images" in html
    assert "workers" not in re.search(r"Parameters.*", html, re.DOTALL)[0]  # speed-only knobs are not shown
