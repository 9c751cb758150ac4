"""Texture networks (seed 002): architecture, noise, training, resume, and collection stylisation."""
from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from PIL import Image

import defaults
from apeart.core.checkpoint import save_checkpoint
from apeart.core.config import ParamsError
from apeart.texnet.params import TexnetParams
from apeart.core.files import save_png
from apeart.core.grids import to_pil
from apeart.core.trainer import TrainingError
from apeart.gan.models import Generator
from apeart.texnet import collection
from apeart.texnet.data import training_set
from apeart.texnet.inference import InferenceNet, upsampled_conv, upsampled_conv_weight
from apeart.texnet.models import TexnetError, TextureNet, fold_batchnorm, pyramid, read_model, save_model
from apeart.texnet.train import Trainer, fingerprint, seeded_net

CPU = torch.device("cpu")
NST = defaults.nst(size=32, content_layers=["conv2_1"], style_layers=["conv1_1", "conv2_1"])
TINY = defaults.texnet(size=32, levels=5, train_images=0, epochs=2, batch_size=2, lr=0.05, seed=0)


def _images(n: int, size: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, 4, 4, generator=g)  # smooth images: upsampled 4x4 colour fields
    return (nn.functional.interpolate(base, size=size, mode="bilinear") * 255).to(torch.uint8)


def test_channel_schedule_is_8_to_48_and_the_output_rgb() -> None:
    net = TextureNet(levels=6, channels=8)
    joins = [block[0].in_channels for block in net.joins]
    assert joins == [16, 24, 32, 40, 48]
    assert [block[-3].out_channels for block in net.joins] == joins  # each join block keeps its count
    assert all(block[0].in_channels == 6 for block in net.inputs)  # 3 image + 3 noise channels
    assert (net.out.in_channels, net.out.out_channels) == (48, 3)
    with torch.no_grad():
        out = net(torch.rand(2, 3, 64, 64), net.noise(2, 64, 1.0))
    assert out.shape == (2, 3, 64, 64) and 0 <= float(out.min()) and float(out.max()) <= 1


def test_pyramid_halves_the_side_per_level() -> None:
    x = torch.rand(1, 3, 256, 256)
    assert [p.shape[-1] for p in pyramid(x, 6)] == [256, 128, 64, 32, 16, 8]
    assert torch.allclose(pyramid(x, 2)[1][0, :, 0, 0], x[0, :, :2, :2].mean(dim=(1, 2)))


def test_size_must_be_a_multiple_of_2_to_the_levels_minus_1() -> None:
    with pytest.raises(ParamsError, match=r"texnet.size: 100 is not a multiple of 2\^\(levels-1\) = 32 of at least 64"):
        defaults.parse({"texnet": {"size": 100}})
    with pytest.raises(ParamsError, match=r"texnet.size: 32 is not .* at least 64 .*; try 64"):
        defaults.parse({"texnet": {"size": 32}})  # the coarsest level would be 1 px
    assert defaults.parse({"texnet": {"size": 96, "levels": 6}}).texnet.size == 96
    assert defaults.parse({"texnet": {"size": 100, "levels": 3}}).texnet.size == 100


@pytest.mark.parametrize("scale", [0.0, 1.0, 5.0])
def test_noise_is_uniform_on_0_to_k(scale: float) -> None:
    noise = TextureNet().noise(4, 64, scale, torch.Generator().manual_seed(0))
    assert [z.shape[-1] for z in noise] == [64, 32, 16, 8, 4, 2]
    values = torch.cat([z.flatten() for z in noise])
    assert float(values.min()) >= 0 and float(values.max()) <= scale
    if scale:
        assert float(values.max()) > 0.99 * scale and abs(float(values.mean()) - scale / 2) < 0.01 * scale


def test_the_noise_scale_changes_the_output() -> None:
    net, image = seeded_net(TINY).eval(), _images(1, 32, 0)[0]
    outs = {k: collection.stylise(net, image, "7", k, 0, CPU) for k in (0.0, 1.0, 8.0)}
    assert torch.equal(outs[0.0], collection.stylise(net, image, "8", 0.0, 0, CPU))  # k = 0: no noise at all
    assert (outs[1.0] - outs[0.0]).abs().mean() < (outs[8.0] - outs[0.0]).abs().mean()


def test_token_noise_depends_on_the_token_and_seed_only() -> None:
    net = TextureNet()
    a, again = collection.token_noise(net, "42", 64, 1.0, 0), collection.token_noise(net, "42", 64, 1.0, 0)
    assert all(torch.equal(x, y) for x, y in zip(a, again))
    assert not torch.equal(a[0], collection.token_noise(net, "43", 64, 1.0, 0)[0])
    assert not torch.equal(a[0], collection.token_noise(net, "42", 64, 1.0, 1)[0])


def test_folded_batchnorm_computes_what_eval_mode_batchnorm_does() -> None:
    net = seeded_net(dataclasses.replace(TINY, norm="batch")).train()
    with torch.no_grad():  # move the running statistics off their initial values
        for _ in range(3):
            net(torch.rand(4, 3, 32, 32), net.noise(4, 32, 1.0))
    x, z = torch.rand(2, 3, 32, 32), net.noise(2, 32, 1.0)
    with torch.no_grad():
        expected = net.eval()(x, z)
        folded = fold_batchnorm(net)
        assert not any(isinstance(m, nn.BatchNorm2d) for block in folded.inputs for m in block)
        assert torch.allclose(folded(x, z), expected, atol=1e-5)


def _held_out_loss(trainer: Trainer, images: torch.Tensor) -> float:
    trainer.net.eval()
    with torch.no_grad():
        content = images.float() / 255
        out = trainer.net(content, trainer.net.noise(len(images), 32, 1.0, torch.Generator().manual_seed(9)))
        return float(trainer.losses(content, out)["total"].mean())


def test_training_lowers_the_loss_on_unseen_images(tmp_path: Path) -> None:
    styles = [_images(1, 32, 5)[0].float() / 255]
    train, unseen = _images(8, 32, 1), _images(2, 32, 2)
    params = dataclasses.replace(TINY, epochs=3)
    trainer = Trainer(params, NST, train, styles, CPU, tmp_path / "ck.pt")
    before = _held_out_loss(trainer, unseen)
    state = trainer.run()
    assert len(state.history) == 3 * 4 and state.history[-1]["step"] == 12
    assert _held_out_loss(trainer, unseen) < 0.7 * before


def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    styles, train = [_images(1, 32, 5)[0].float() / 255], _images(4, 32, 1)
    whole = Trainer(TINY, NST, train, styles, CPU, tmp_path / "a.pt")
    whole.run()

    real_epoch = Trainer._epoch

    def crash_in_second_epoch(self: Trainer, epoch: int, bar) -> None:
        if epoch == 1:
            raise KeyboardInterrupt
        real_epoch(self, epoch, bar)

    monkeypatch.setattr(Trainer, "_epoch", crash_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        Trainer(TINY, NST, train, styles, CPU, tmp_path / "b.pt").run()
    monkeypatch.setattr(Trainer, "_epoch", real_epoch)
    resumed = Trainer(TINY, NST, train, styles, CPU, tmp_path / "b.pt")
    assert resumed.load() and resumed.state.epoch == 1
    resumed.run()
    assert resumed.state.history == whole.state.history
    for name, tensor in whole.net.state_dict().items():
        assert torch.equal(tensor, resumed.net.state_dict()[name]), name


def test_a_non_finite_loss_mid_epoch_names_its_step_and_never_reaches_the_checkpoint(tmp_path: Path) -> None:
    styles, train = [_images(1, 32, 5)[0].float() / 255], _images(4, 32, 1)  # TINY: 2 steps per epoch
    trainer = Trainer(dataclasses.replace(TINY, epochs=3), NST, train, styles, CPU, tmp_path / "ck.pt")
    real, calls = trainer.losses, iter(range(100))

    def nan_from_step_4(content: torch.Tensor, out: torch.Tensor) -> dict[str, torch.Tensor]:
        losses = real(content, out)
        return {k: v * float("nan") for k, v in losses.items()} if next(calls) >= 3 else losses

    trainer.losses = nan_from_step_4
    with pytest.raises(TrainingError, match=r"non-finite loss at epoch 2, step 4; lower texnet.lr; last good "
                                            r"checkpoint \(epoch 1\) kept"):
        trainer.run()
    resumed = Trainer(dataclasses.replace(TINY, epochs=3), NST, train, styles, CPU, tmp_path / "ck.pt")
    assert resumed.load() and resumed.state.epoch == 1 and resumed.state.step == 2
    assert all(torch.isfinite(t).all() for t in resumed.net.state_dict().values())


def test_every_training_param_is_in_the_fingerprint() -> None:
    styles, train = [torch.zeros(3, 32, 32)], _images(2, 32, 1)
    base = fingerprint(TINY, NST, train, styles)
    inference_only = {"device", "workers", "noise_scales"}
    changed = {"size": 64, "levels": 4, "channels": 4, "norm": "batch", "style_source": "images", "style_batch": 1,
               "alpha": 2.0, "beta": 1.0, "tv_weight": 1.0, "train_images": 3, "epochs": 9, "batch_size": 3,
               "processes": 2, "lr": 0.5, "noise_scale": 2.0, "seed": 5}
    assert set(changed) | inference_only == {f.name for f in dataclasses.fields(TexnetParams)}
    for key, value in changed.items():
        assert fingerprint(dataclasses.replace(TINY, **{key: value}), NST, train, styles) != base, key
    assert fingerprint(TINY, dataclasses.replace(NST, gram_norm="gatys"), train, styles) != base
    assert fingerprint(TINY, NST, train, [torch.ones(3, 32, 32)]) != base


def _collection(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    folder, model = tmp_path / "prepared", tmp_path / "texnet.pt"
    names = [str(i) for i in range(6)]
    for name, image in zip(names, _images(6, 32, 3)):
        save_png(to_pil(image), folder / f"{name}.png")
    save_model(seeded_net(TINY), model)
    return folder, model, names


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.png"))}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """`_collection`'s inputs, made once for the tests that only read them."""
    return _collection(tmp_path_factory.mktemp("made"))


@pytest.fixture(scope="module")
def whole(made: tuple[Path, Path, list[str]]) -> tuple[dict[str, str], list[str]]:
    """`made` stylised whole by one process with 2 texnet.workers: ({file: sha256}, the names reported done)."""
    folder, model, names = made
    work, seen = folder.parent / "whole", []
    collection.stylise_collection(model, dataclasses.replace(TINY, workers=2), folder, names, work, CPU, seen.append)
    return _digests(work), seen


@pytest.fixture(scope="module")
def partial(made: tuple[Path, Path, list[str]]) -> Path:
    """The work folder of a run over the first 4 of `made`'s 6 images; a test copies it to change it."""
    folder, model, names = made
    work = folder.parent / "partial" / "work"
    collection.stylise_collection(model, dataclasses.replace(TINY, workers=1), folder, names[:4], work, CPU,
                                  lambda name: None)
    return work


@pytest.mark.processes
def test_collection_bytes_do_not_depend_on_the_number_of_processes(made: tuple, whole: tuple, tmp_path: Path) -> None:
    folder, model, names = made
    work, seen = tmp_path / "work1", []
    collection.stylise_collection(model, dataclasses.replace(TINY, workers=1), folder, names, work, CPU, seen.append)
    assert sorted(seen) == sorted(names) and sorted(whole[1]) == sorted(names)
    assert _digests(work) == whole[0] and len(whole[0]) == 6


@pytest.mark.processes
def test_a_resumed_collection_redoes_nothing_finished(made: tuple, partial: Path, whole: tuple, tmp_path: Path) -> None:
    folder, model, names = made
    work = shutil.copytree(partial, tmp_path / "work")
    (work / ".5.png.abcd.tmp").write_bytes(b"half")  # a writer killed mid-file
    (work / "1.png").write_bytes((work / "1.png").read_bytes()[:200])  # damaged by hand, or a power cut
    (work / "2.png").write_text("not a png")
    done = []
    collection.stylise_collection(model, TINY, folder, names, work, CPU, done.append)
    assert sorted(done) == ["1", "2", "4", "5"] and not list(work.glob(".*"))
    assert _digests(work) == whole[0]


@pytest.mark.processes
def test_files_planted_in_the_resume_folder_are_redone_not_published(made: tuple, partial: Path, whole: tuple,
                                                                     tmp_path: Path) -> None:
    """A 1x1 PNG and a copy of the unstylised input both decode; neither was recorded by a run, so both are redone."""
    folder, model, names = made
    work = shutil.copytree(partial, tmp_path / "work")
    save_png(to_pil(torch.zeros(3, 1, 1, dtype=torch.uint8)), work / "4.png")
    (work / "5.png").write_bytes((folder / "5.png").read_bytes())
    done = []
    collection.stylise_collection(model, TINY, folder, names, work, CPU, done.append)
    assert sorted(done) == ["4", "5"]
    assert _digests(work) == whole[0]


def test_the_work_key_changes_with_every_input(tmp_path: Path) -> None:
    folder, model, names = _collection(tmp_path)
    key = collection.work_key(model, TINY, folder, names)
    assert key != collection.work_key(model, dataclasses.replace(TINY, seed=1), folder, names)
    assert key != collection.work_key(model, dataclasses.replace(TINY, noise_scale=2.0), folder, names)
    assert key != collection.work_key(model, TINY, folder, names[:5])
    save_png(to_pil(_images(1, 32, 9)[0]), folder / "3.png")  # one content image changed
    assert key != collection.work_key(model, TINY, folder, names)


KILL_WORKER = """
import os, signal, sys
from pathlib import Path
import multiprocessing, torch
import defaults
from apeart.texnet import collection
from apeart.texnet.models import TexnetError
root, mode = Path(sys.argv[1]), sys.argv[2]
names = sorted(p.stem for p in (root / "prepared").glob("*.png"))
done = []

def finished(name):
    done.append(name)
    if len(done) == 1:
        pids = [p.pid for p in multiprocessing.active_children()]
        (root / "workers.txt").write_text(" ".join(map(str, pids)))
        if mode == "worker":
            os.kill(pids[0], signal.SIGKILL)  # what the OOM killer does
        else:
            signal.pause()  # the test SIGKILLs this process

if __name__ == "__main__":  # spawned workers import this file
    try:
        collection.stylise_collection(root / "texnet.pt", defaults.texnet(size=32, levels=5, workers=2),
                                      root / "prepared", names, root / "work", torch.device("cpu"), finished)
    except TexnetError as error:
        sys.exit(f"stylize_collection: {error}")
"""


def _kill_worker_run(tmp_path: Path, mode: str) -> subprocess.Popen:
    folder, model, names = _collection(tmp_path)
    for i, image in enumerate(_images(60, 32, 4)):  # enough images that some are left when the worker dies
        save_png(to_pil(image), folder / f"{100 + i}.png")
    script = tmp_path / "kill.py"
    script.write_text(KILL_WORKER)
    with open(tmp_path / "stderr.txt", "w") as err:  # a file: orphans holding a pipe would block the reader
        return subprocess.Popen([sys.executable, str(script), str(tmp_path), mode], stderr=err,
                                env=defaults.child_env())


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _all_gone(workers: list[int]) -> bool:
    """Whether the `workers` end within 30 s; survivors are killed after (this test started them)."""
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    return not survivors


@pytest.mark.processes
def test_a_sigkilled_worker_ends_the_stage_with_one_line_not_a_hang(tmp_path: Path) -> None:
    run = _kill_worker_run(tmp_path, "worker")
    try:
        run.wait(timeout=120)  # multiprocessing.Pool waited for the lost image for ever
    finally:
        run.kill()
    err = (tmp_path / "stderr.txt").read_text()
    assert run.returncode == 1 and err.strip().splitlines() == [err.strip()], err
    assert err.startswith("stylize_collection: a texnet.workers process died"), err
    assert _all_gone([int(p) for p in (tmp_path / "workers.txt").read_text().split()])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
@pytest.mark.processes
def test_a_sigkilled_stage_leaves_no_worker_behind(tmp_path: Path) -> None:
    run = _kill_worker_run(tmp_path, "stage")
    pids = tmp_path / "workers.txt"
    deadline = time.monotonic() + 120
    while not (pids.is_file() and pids.read_text()):
        assert time.monotonic() < deadline and run.poll() is None, "the workers did not start"
        time.sleep(0.2)
    run.kill()
    run.wait()
    workers = [int(p) for p in pids.read_text().split()]
    assert len(workers) >= 2 and _all_gone(workers)


SLOW_START = """
import os, sys, time
from pathlib import Path
import apeart
if __name__ == "__mp_main__":  # a spawned worker importing its main module, where importing torch takes seconds
    Path(sys.argv[1], f"worker{os.getpid()}").touch()
    time.sleep(600)
import torch
import defaults
from apeart.texnet import collection
if __name__ == "__main__":
    root = Path(sys.argv[1])
    names = sorted(p.stem for p in (root / "prepared").glob("*.png"))
    collection.stylise_collection(root / "texnet.pt", defaults.texnet(size=32, levels=5, workers=2),
                                  root / "prepared", names, root / "work", torch.device("cpu"), print)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
@pytest.mark.processes
def test_a_stage_sigkilled_while_its_workers_start_leaves_none_behind(tmp_path: Path) -> None:
    """Workers still importing (32 on 2 cores took up to a minute) end with the stage, not after their imports."""
    _collection(tmp_path)
    script = tmp_path / "slow_start.py"
    script.write_text(SLOW_START)
    run = subprocess.Popen([sys.executable, str(script), str(tmp_path)], stderr=subprocess.DEVNULL,
                           env=defaults.child_env())
    deadline = time.monotonic() + 120
    while len(started := list(tmp_path.glob("worker*"))) < 2:
        assert time.monotonic() < deadline and run.poll() is None, "the workers did not start"
        time.sleep(0.2)
    run.kill()
    run.wait()
    assert _all_gone([int(p.name.removeprefix("worker")) for p in started])


def test_workers_that_cannot_fit_in_memory_are_refused_before_one_starts(tmp_path: Path) -> None:
    """Each worker holds a 4096 px image's layers (about 80 GiB at 64 channels), the size of the prepared files
    (not texnet.size, which prepare already applied): refused naming texnet.workers."""
    model = tmp_path / "texnet.pt"
    save_model(TextureNet(levels=5, channels=64), model)
    params = defaults.texnet(size=32, levels=5, channels=64, workers=4)
    Image.new("RGB", (4096, 4096)).save(tmp_path / "0.png")
    names = [str(i) for i in range(8)]  # only the first one's size is read: the refusal comes first
    with pytest.raises(ParamsError, match=r"^texnet.workers: 4 processes at 4096 px: about \d+\.\d GiB needed, "
                                          r"more than the \d+\.\d GiB of memory available here$"):
        collection.stylise_collection(model, params, tmp_path, names, tmp_path / "work", CPU, lambda name: None)
    assert not multiprocessing.active_children()


@pytest.mark.slow  # a stage process that imports torch: end to end
def test_a_fifo_named_like_a_painting_is_refused_by_the_style_record(tmp_path: Path) -> None:
    """stylize_collection hashes the paintings for lineage.csv: a FIFO there blocked that read for ever."""
    paintings = tmp_path / "paintings"
    paintings.mkdir()
    Image.new("RGB", (8, 8), "teal").save(paintings / "a.png")
    os.mkfifo(paintings / "evil.png")
    code = ("import sys; from apeart.texnet.lineage import style_record\n"
            "try: style_record('images', 0, sys.argv[1], 'dcgan')\n"
            "except ValueError as error: sys.exit(str(error))")
    out = subprocess.run([sys.executable, "-c", code, str(paintings)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.strip() == f"bad image {paintings / 'evil.png'}: not a regular file"


SHARD = """
import sys
import time
from pathlib import Path
import apeart, torch
import defaults
from apeart.core.distributed import barrier, join, leave
from apeart.texnet import collection
rank, world = join()
root = Path(sys.argv[1])
params = defaults.texnet(size=32, levels=5)
names = [str(i) for i in range(6)]
done = []
collection.stylise_collection(root / "texnet.pt", params, root / "prepared", names, root / "ranks", torch.device("cpu"),
                              done.append, rank, world)
(root / f"rank{rank}.txt").write_text(" ".join(done))
barrier(world)
leave(world)
"""


@pytest.mark.processes
def test_two_torchrun_ranks_write_the_files_one_process_writes(tmp_path: Path, whole: tuple) -> None:
    """Real torchrun, two processes on gloo: each rank stylises its share, together byte-identical to one process."""
    folder, model, names = _collection(tmp_path)
    script = tmp_path / "shard.py"
    script.write_text(SHARD)
    run = subprocess.run([sys.executable, *defaults.torchrun(2, tmp_path / "torchrun"),
                          "-m", "apeart", str(script), str(tmp_path)], capture_output=True, text=True, timeout=300,
                         env=defaults.child_env())
    assert run.returncode == 0, run.stderr[-3000:]
    shares = [(tmp_path / f"rank{r}.txt").read_text().split() for r in (0, 1)]
    assert shares == [names[0::2], names[1::2]]  # each rank did its own share, nothing twice
    assert _digests(tmp_path / "ranks") == whole[0]  # the same inputs, stylised by one process


def test_a_damaged_model_file_is_one_error_not_a_hung_pool(tmp_path: Path) -> None:
    folder, model, names = _collection(tmp_path)
    model.write_bytes(model.read_bytes()[:-100])  # truncated on disk
    with pytest.raises(TexnetError, match=r"texnet.pt: not a readable checkpoint .*run train_texnet"):
        collection.stylise_collection(model, TINY, folder, names, tmp_path / "work", CPU, lambda name: None)


def _forged(path: Path, payload: dict) -> Path:
    """A digest-valid file holding `payload`: what a hand-edited or planted file can be."""
    save_checkpoint(path, payload)
    return path


@pytest.mark.parametrize("fault, reason", [
    ("dcgan", r"not a texture network file \(it holds a DCGAN generator\)"),
    ("no kind", r"not a texture network file \(it holds a something else\)"),
    ("levels", r"architecture out of bounds \(levels: 9 is out of range; allowed >= 1 and <= 8\)"),
    ("channels", r"architecture out of bounds \(channels: 257 is out of range"),
    ("norm", r"architecture out of bounds \(norm: 'layer' is not allowed"),
    ("width", r"weights do not fit the architecture saved with them \(Error\(s\) in loading state_dict"),
    ("max", r"weights do not fit the architecture saved with them"),
])
def test_a_bad_model_file_is_one_error_naming_it(tmp_path: Path, fault: str, reason: str) -> None:
    """Checked before anything is built: a 1 KB file declaring 100000 levels once ran 85 s into std::bad_alloc."""
    net = TextureNet(levels=2, channels=8)
    good = {"kind": "texnet", "levels": 2, "channels": 8, "norm": "instance", "net": net.state_dict()}
    payload = {
        "dcgan": {"kind": "dcgan", "nz": 4, "ngf": 4, "state_dict": Generator(4, 4).state_dict()},
        "no kind": {k: v for k, v in good.items() if k != "kind"},
        "levels": {**good, "levels": 9, "net": {}},
        "channels": {**good, "channels": 257},
        "norm": {**good, "norm": "layer"},
        "width": {**good, "channels": 16},  # 16 declared over 8-channel weights
        "max": {**good, "levels": 8, "channels": 256, "net": {}},  # within range: built on the meta device only
    }[fault]
    path = _forged(tmp_path / "texnet.pt", payload)
    with pytest.raises(TexnetError, match=f"^{re.escape(str(path))}: {reason}"):
        read_model(path, CPU)


def test_a_saved_model_reads_back_to_the_same_outputs(tmp_path: Path) -> None:
    net = seeded_net(TINY).eval()
    save_model(net, tmp_path / "texnet.pt")
    image, noise = torch.rand(1, 3, 32, 32), net.noise(1, 32, 1.0, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(read_model(tmp_path / "texnet.pt", CPU)(image, noise), net(image, noise))


def test_an_empty_training_set_is_one_error() -> None:
    with pytest.raises(TexnetError, match="no training images left after holding out"):
        training_set(["0", "1"], _images(2, 32, 0), {"0", "1"}, 0)


def test_a_texture_network_without_any_loss_weight_is_refused() -> None:
    with pytest.raises(ParamsError, match="texnet.alpha and texnet.beta are both 0"):
        defaults.parse({"texnet": {"alpha": 0, "beta": 0}})


def _inference_case(norm: str) -> TextureNet:
    net = TextureNet(levels=5, norm=norm)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):  # statistics that are not the identity
                module.running_mean.uniform_(-1, 1), module.running_var.uniform_(0.5, 2)
            if isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):  # and affine weights that are not either
                module.weight.uniform_(0.5, 1.5), module.bias.uniform_(-0.5, 0.5)
    return net


def _inputs(net: nn.Module, size: int, batch: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    x = torch.rand(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
    return x, [n.contiguous(memory_format=torch.channels_last) for n in net.noise(batch, size, 1.0)]


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_the_frozen_inference_net_computes_the_eager_one_bit_for_bit(norm: str) -> None:
    net = _inference_case(norm)
    eager, frozen = collection.inference_net(net, CPU, freeze=False), collection.inference_net(net, CPU)
    assert isinstance(eager, InferenceNet) and isinstance(frozen, collection.FrozenNet) and frozen.levels == 5
    for size, batch in ((32, 1), (64, 3)):  # traced at 32 px, batch 1: the graph holds for any size and batch
        x, z = _inputs(frozen, size, batch)
        with torch.inference_mode():
            assert torch.equal(eager(x, z), frozen(x, z))


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_the_inference_net_computes_the_texture_network(norm: str) -> None:
    """Matrix-product 1x1 convs, no bias before instance norm, joins' norm and conv share at the coarse size."""
    net = _inference_case(norm).eval()
    lean = collection.inference_net(net, CPU, freeze=False)
    for size, batch in ((32, 1), (64, 2)):
        x, z = _inputs(net, size, batch)
        with torch.inference_mode():
            assert torch.allclose(lean(x, z), net(x, z), rtol=0, atol=2e-5)


def test_the_upsampled_conv_is_the_3x3_conv_of_the_upsampled_input() -> None:
    torch.manual_seed(0)
    coarse, weight = torch.randn(2, 5, 6, 7), torch.randn(4, 5, 3, 3)
    up = nn.functional.interpolate(coarse, scale_factor=2, mode="nearest")
    expected = nn.functional.conv2d(nn.functional.pad(up, (1, 1, 1, 1), mode="replicate"), weight)
    assert torch.allclose(upsampled_conv(coarse, upsampled_conv_weight(weight)), expected, atol=1e-5)


def test_stylise_runs_on_one_thread_whatever_the_caller_set() -> None:
    """The same bits at any caller thread count, and the caller's count restored."""
    net = collection.inference_net(_inference_case("instance"), CPU)
    image = _images(1, 32, 5)[0]
    before = torch.get_num_threads()
    try:
        outs = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            outs.append(collection.stylise(net, image, "3", 1.0, 0, CPU))
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)
    assert torch.equal(outs[0], outs[1])
