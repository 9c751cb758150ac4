"""DCGAN: model shapes and init, label smoothing, DiffAugment, EMA, exact resume, determinism, failures."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch.optim.swa_utils import AveragedModel

import defaults
from apeart.core.config import ParamsError
from apeart.gan.params import DIFFAUGMENT_POLICIES, GanParams
from apeart.gan.augment import FUNCTIONS, cutout, diff_augment, translation
from apeart.core.checkpoint import payload_digest
from apeart.gan.models import Discriminator, Generator, init_weights
from apeart.gan.sample import load_generator, sample_batches, save_generator
from apeart.core.trainer import TrainingError
from apeart.gan.train import (
    Trainer,
    ema_beta,
    fingerprint,
    loss_warning,
    lr_factor,
    real_label_at,
)

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")


def tiny_params(**over) -> GanParams:
    base = {"seed": 0, "epochs": 2, "batch_size": 8, "nz": 16, "ngf": 8, "ndf": 8, "device": "cpu",
            "diffaugment": "translation,cutout", "ema_decay": 0.9, "real_label": 0.9, "real_label_late": 0.95}
    return defaults.gan(**{**base, **over})


@pytest.fixture(scope="module")
def data() -> torch.Tensor:
    return torch.randint(0, 256, (32, 3, 64, 64), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)


def state_of(trainer: Trainer) -> dict[str, torch.Tensor]:
    nets = {"G": trainer.G, "D": trainer.D}
    if trainer.G_ema is not None:
        nets["G_ema"] = trainer.G_ema
    return {f"{n}.{k}": v for n, net in nets.items() for k, v in net.state_dict().items()}


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert torch.equal(value, b[key]), key


class Interrupted(Exception):
    pass


class StopAfter(Trainer):
    """A trainer killed at the start of epoch `stop` (0-based), after the earlier epochs were checkpointed."""

    stop = 1

    def _epoch(self, epoch: int, bar) -> None:
        if epoch == self.stop:
            raise Interrupted
        super()._epoch(epoch, bar)


# --- models --------------------------------------------------------------------------------------------


def test_generator_shape_and_range() -> None:
    torch.manual_seed(0)
    G = Generator(nz=16, ngf=8)
    G.apply(init_weights)
    out = G(torch.randn(5, 16, 1, 1) * 10)  # large z: tanh must still bound the output
    assert out.shape == (5, 3, 64, 64)
    assert out.min() >= -1 and out.max() <= 1


def test_discriminator_shape() -> None:
    D = Discriminator(ndf=8, slope=0.2)
    assert D(torch.rand(5, 3, 64, 64) * 2 - 1).shape == (5,)


def test_init_std() -> None:
    torch.manual_seed(0)
    for net in (Generator(nz=100, ngf=16), Discriminator(ndf=16)):
        net.apply(lambda m: init_weights(m, 0.02))
        for m in net.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) and m.weight.numel() >= 4096:
                assert abs(m.weight.std().item() - 0.02) < 0.002
                assert abs(m.weight.mean().item()) < 0.002
            if isinstance(m, torch.nn.BatchNorm2d):
                assert abs(m.weight.mean().item() - 1) < 0.02 and torch.all(m.bias == 0)


def test_label_smoothing_schedule() -> None:
    p = defaults.gan(epochs=10, real_label=0.85, real_label_late=0.95)
    assert [real_label_at(p, e) for e in range(10)] == [0.85] * 5 + [0.95] * 5
    assert real_label_at(defaults.gan(epochs=1, real_label=0.8, real_label_late=0.9), 0) == 0.9


# --- DiffAugment and EMA -------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["translation", "cutout", "color", "color,translation,cutout"])
def test_diffaugment_shape_and_gradient(policy: str) -> None:
    x = (torch.rand(6, 3, 64, 64) * 2 - 1).requires_grad_(True)
    out = diff_augment(x, defaults.gan(diffaugment=policy).policy, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    out.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    again = diff_augment(x.detach(), defaults.gan(diffaugment=policy).policy, torch.Generator().manual_seed(0))
    assert torch.equal(out.detach(), again)  # all randomness from the generator passed in


def test_translation_is_a_zero_padded_shift() -> None:
    x = torch.rand(64, 3, 16, 16) + 1  # strictly positive: zeros can only be padding
    out = translation(x, torch.Generator().manual_seed(0))
    for a, b in zip(x, out):
        rows, cols = (b[0] != 0).any(1).nonzero().flatten(), (b[0] != 0).any(0).nonzero().flatten()
        r0, c0 = rows[0].item(), cols[0].item()
        h, w = len(rows), len(cols)
        assert h >= 14 and w >= 14  # at most 2 = 16/8 pixels shifted out
        # Content moved up/left (output starts at row/col 0) comes from the bottom/right of the input.
        ys = slice(16 - h, 16) if r0 == 0 else slice(0, h)
        xs = slice(16 - w, 16) if c0 == 0 else slice(0, w)
        assert torch.equal(b[:, r0 : r0 + h, c0 : c0 + w], a[:, ys, xs])
    assert (out == 0).any()


def test_cutout_erases_at_most_a_half_square() -> None:
    x = torch.ones(64, 3, 64, 64)
    out = cutout(x, torch.Generator().manual_seed(0))
    erased = (out[:, 0] == 0).sum((1, 2))
    assert (erased <= 32 * 32).all() and (erased >= 16 * 16).all()
    assert torch.equal((out == 0).all(1), (out == 0).any(1))  # same region in every channel


def test_bad_policy_and_ema_decay_are_refused() -> None:
    with pytest.raises(ParamsError, match="diffaugment"):
        defaults.gan(diffaugment="translation,flip")
    with pytest.raises(ParamsError, match="ema_decay"):
        defaults.parse({"gan": {"ema_decay": 1.0}})
    assert defaults.gan(diffaugment="").policy == ()
    assert defaults.gan(diffaugment=" translation , cutout ").policy == ("translation", "cutout")


def test_every_diffaugment_name_the_params_accept_is_implemented() -> None:
    assert sorted(FUNCTIONS) == sorted(DIFFAUGMENT_POLICIES)


def test_ema_ramp_rises_to_the_decay_and_binds_where_documented() -> None:
    betas = [ema_beta(0.99, t) for t in range(2000)]
    assert all(a <= b for a, b in zip(betas, betas[1:])) and max(betas) == 0.99
    assert betas[0] < 0.5  # the first update takes most of G: the random init is forgotten at once
    assert betas[889] < 0.99 and betas[890] == 0.99  # from step (10 * decay - 1) / (1 - decay) = 890 on


def test_ema_is_an_averaged_model_keeping_the_ramp(data: torch.Tensor, tmp_path: Path) -> None:
    """G_ema is the module of a swa_utils.AveragedModel; each update is lerp(G_ema, G, 1 - ema_beta(step))
    from G's init (step 0 blends with beta 0.1, it does not copy G), BatchNorm statistics copied."""
    t = Trainer(tiny_params(epochs=1), data, CPU, tmp_path / "ck.pt")
    assert isinstance(t.ema, AveragedModel) and t.G_ema is t.ema.module and t.sampler is t.G_ema
    for step in (0, 7, 30):
        before = {k: v.clone() for k, v in t.G_ema.state_dict().items()}
        with torch.no_grad():
            for p in t.G.parameters():
                p.add_(torch.randn_like(p))
            for b in t.G.buffers():
                b.add_(1)
        t._update_ema(step)
        weight = 1.0 - ema_beta(0.9, step)
        params = dict(t.G.named_parameters())
        for k, v in t.G_ema.state_dict().items():
            expected = torch.lerp(before[k], params[k], weight) if k in params else t.G.state_dict()[k]
            assert torch.equal(v, expected), (step, k)


# --- training ------------------------------------------------------------------------------------------


def test_training_history_samples_and_sampler(data: torch.Tensor, tmp_path: Path) -> None:
    p = tiny_params(epochs=1)
    trainer = Trainer(p, data, CPU, tmp_path / "ck.pt")
    # The fixed noise comes from a generator of its own: the training RNG starts where its seed puts it.
    assert torch.equal(trainer.rng.get_state(), torch.Generator().manual_seed(p.seed).get_state())
    state = trainer.run()
    assert state.step == 4 and [r["step"] for r in state.history] == [1, 2, 3, 4]
    assert set(state.history[0]) == {"step", "epoch", "d_loss", "g_loss", "d_real", "d_fake"}
    assert [s.shape for s in trainer.samples] == [(64, 3, 64, 64)] * 2 and trainer.samples[1].dtype == torch.uint8
    assert torch.equal(trainer.samples[1], trainer.sample_fixed())  # the sampler's images after the last epoch
    assert trainer.sampler is trainer.G_ema and not trainer.G_ema.training
    assert not torch.equal(trainer.G_ema.main[0].weight, trainer.G.main[0].weight)

    save_generator(trainer.sampler, p.nz, p.ngf, tmp_path / "g.pt")
    G, nz = load_generator(tmp_path / "g.pt", CPU)
    assert nz == p.nz
    assert torch.equal(sample_batches(G, nz, 1, 4, 0)[0], sample_batches(trainer.sampler, nz, 1, 4, 0)[0])

    plain = Trainer(tiny_params(epochs=1, ema_decay=0.0, diffaugment=""), data, CPU, tmp_path / "plain.pt")
    assert plain.G_ema is None and plain.sampler is plain.G


def test_exact_resume(data: torch.Tensor, tmp_path: Path) -> None:
    p = tiny_params()
    straight = Trainer(p, data, CPU, tmp_path / "a.pt")
    straight.run()

    killed = StopAfter(p, data, CPU, tmp_path / "b.pt")
    with pytest.raises(Interrupted):
        killed.run()
    resumed = Trainer(p, data, CPU, tmp_path / "b.pt")
    state = resumed.run()

    assert state.epoch == 2 and state.step == straight.state.step
    assert_same(state_of(straight), state_of(resumed))
    assert state.history == straight.state.history
    assert len(resumed.samples) == 3 and all(torch.equal(a, b) for a, b in zip(resumed.samples, straight.samples))
    assert torch.equal(resumed.rng.get_state(), straight.rng.get_state())
    assert (tmp_path / "b.pt").read_bytes() == (tmp_path / "a.pt").read_bytes()  # what DVC hashes


def test_run_until_an_epoch_then_on_is_one_run(data: torch.Tensor, tmp_path: Path) -> None:
    # Constant lrs and labels: epoch 1 of a 2-epoch run is where a 1-epoch run ends (what gan_curve relies on).
    p = tiny_params(real_label=1.0, real_label_late=1.0)
    short = Trainer(dataclasses.replace(p, epochs=1), data, CPU, tmp_path / "short.pt")
    short.run()
    straight = Trainer(p, data, CPU, tmp_path / "a.pt")
    straight.run()

    stepped = Trainer(p, data, CPU, tmp_path / "b.pt")
    assert stepped.run(until=1).epoch == 1
    assert_same(state_of(short), state_of(stepped))
    assert stepped.run().epoch == 2
    assert_same(state_of(straight), state_of(stepped))
    assert stepped.state.history == straight.state.history


def test_two_fresh_runs_are_identical(data: torch.Tensor, tmp_path: Path) -> None:
    p = tiny_params(epochs=1)
    a = Trainer(p, data, CPU, tmp_path / "a.pt")
    a.run()
    b = Trainer(p, data, CPU, tmp_path / "b.pt")
    b.run()
    assert_same(state_of(a), state_of(b))


def test_checkpoint_of_other_config_is_refused(data: torch.Tensor, tmp_path: Path) -> None:
    p = tiny_params(epochs=1)
    Trainer(p, data, CPU, tmp_path / "ck.pt").run()
    other = dataclasses.replace(p, lr=1e-3)
    assert fingerprint(other, data) != fingerprint(p, data)
    assert fingerprint(dataclasses.replace(p, device="cuda"), data) == fingerprint(p, data)
    with pytest.raises(TrainingError, match="other train_gan params"):
        Trainer(other, data, CPU, tmp_path / "ck.pt").run()


def _damage(checkpoint: Path, how: str, trainer: Trainer) -> None:
    """Truncate the file, invert 64 bytes inside G's first weight (the zip stays valid), or store NaN weights
    under a matching digest."""
    raw = checkpoint.read_bytes()
    if how == "truncated":
        checkpoint.write_bytes(raw[:1000])
    elif how == "flipped":
        w = trainer.G.state_dict()["main.0.weight"]
        weight = w.as_strided((w.numel(),), (1,)).numpy().tobytes()  # storage order, whatever the layout
        at = raw.index(weight[:256]) + 128
        checkpoint.write_bytes(raw[:at] + bytes(b ^ 0xFF for b in raw[at : at + 64]) + raw[at + 64 :])
    else:
        payload = torch.load(checkpoint, weights_only=True)
        payload["G"]["main.0.weight"][0, 0, 0, 0] = float("nan")
        payload["digest"] = payload_digest(payload)
        torch.save(payload, checkpoint)


@pytest.mark.parametrize("how", ["truncated", "flipped", "nan"])
def test_damaged_checkpoint_starts_over_with_a_message(data: torch.Tensor, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture, how: str) -> None:
    """Unreadable, bit-flipped (digest mismatch) or non-finite: never resumed; training starts over and ends
    with the weights of an uninterrupted run."""
    checkpoint = tmp_path / "ck.pt"
    first = Trainer(tiny_params(epochs=1), data, CPU, checkpoint)
    first.run()
    _damage(checkpoint, how, first)
    resumed = Trainer(tiny_params(epochs=1), data, CPU, checkpoint)
    resumed.run()
    err = capsys.readouterr().err
    assert "ck.pt is damaged" in err and "training from the start" in err
    fresh = Trainer(tiny_params(epochs=1), data, CPU, tmp_path / "fresh.pt")
    fresh.run()
    assert_same(state_of(resumed), state_of(fresh))


def test_divergence_without_nan_fails_naming_the_losses(data: torch.Tensor, tmp_path: Path) -> None:
    """gan.lr 1e3: finite but absurd losses (~1e8) fail the run instead of becoming metrics."""
    with pytest.raises(TrainingError, match=r"diverged at epoch 1, step \d+: d_loss .* lower gan.lr; no checkpoint yet"):
        Trainer(tiny_params(lr=1e3), data, CPU, tmp_path / "ck.pt").run()


def test_unstable_losses_are_warned_about() -> None:
    history = [{"epoch": 1, "d_loss": 0.5, "g_loss": 2.0}, {"epoch": 2, "d_loss": 80.0, "g_loss": 1.0}]
    assert "d_loss is 80" in loss_warning(history)
    assert loss_warning(history[:1]) is None


def test_nan_raises_naming_the_epoch(data: torch.Tensor, tmp_path: Path) -> None:
    class Poisoned(Trainer):
        def _epoch(self, epoch: int, bar) -> None:
            if epoch == 1:
                with torch.no_grad():
                    self.D.main[0].weight.fill_(float("nan"))
            super()._epoch(epoch, bar)

    checkpoint = tmp_path / "ck.pt"
    with pytest.raises(TrainingError, match=r"epoch 2, step 5; last good checkpoint \(epoch 1\) kept"):
        Poisoned(tiny_params(), data, CPU, checkpoint).run()
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 1  # last good checkpoint kept


def test_nan_in_the_first_epoch_says_no_checkpoint_exists_yet(data: torch.Tensor, tmp_path: Path) -> None:
    class Poisoned(Trainer):
        def _epoch(self, epoch: int, bar) -> None:
            with torch.no_grad():
                self.D.main[0].weight.fill_(float("nan"))
            super()._epoch(epoch, bar)

    with pytest.raises(TrainingError, match=r"epoch 1, step 1; no checkpoint yet") as info:
        Poisoned(tiny_params(), data, CPU, tmp_path / "ck.pt").run()
    assert "kept" not in str(info.value)


CHILD = """
import sys, torch
from pathlib import Path
import defaults
from apeart.gan.train import Trainer
data = torch.randint(0, 256, (256, 3, 64, 64), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
params = defaults.gan(seed=0, epochs=3, batch_size=8, nz=16, ngf=8, ndf=8, device="cpu")
trainer = Trainer(params, data, torch.device("cpu"), Path(sys.argv[1]))
trainer.run()
torch.save({k: v for n in ("G", "D", "G_ema") for k, v in
            {f"{n}.{k}": v for k, v in getattr(trainer, n).state_dict().items()}.items()}, sys.argv[2])
"""


@pytest.mark.processes
def test_sigkill_mid_epoch_then_rerun_gives_the_uninterrupted_weights(tmp_path: Path) -> None:
    def child(checkpoint: Path, out: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", CHILD, str(checkpoint), str(out)], stderr=subprocess.DEVNULL,
                                env=defaults.child_env())

    straight = child(tmp_path / "a.pt", tmp_path / "a-final.pt")
    assert straight.wait(timeout=300) == 0

    checkpoint, final = tmp_path / "b.pt", tmp_path / "b-final.pt"
    killed = child(checkpoint, final)
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # into the second epoch
    killed.kill()
    assert killed.wait() == -9 and not final.exists(), "the run finished before it could be killed"
    epoch_at_kill = torch.load(checkpoint, weights_only=True)["epoch"]
    assert 1 <= epoch_at_kill < 3

    assert child(checkpoint, final).wait(timeout=300) == 0
    assert_same(torch.load(tmp_path / "a-final.pt", weights_only=True), torch.load(final, weights_only=True))


# --- D levers: spectral norm, hinge loss, RMSprop, minibatch std -----------------------------------------------------


def test_minibatch_std_appends_the_batch_spread_as_one_map() -> None:
    from apeart.gan.models import MinibatchStd

    x = torch.zeros(2, 3, 4, 4)
    x[1, 0], x[1, 1] = 2.0, 4.0  # per-feature std over the batch: 1, 2 and 0 -> mean 1
    out = MinibatchStd()(x)
    assert out.shape == (2, 4, 4, 4) and torch.equal(out[:, :3], x)
    assert torch.allclose(out[:, 3], torch.ones(2, 4, 4), atol=1e-4)


@pytest.mark.parametrize("on", [False, True])
def test_minibatch_std_lets_d_judge_an_image_by_its_batch(on: bool) -> None:
    from apeart.gan.models import initialised_discriminator

    torch.manual_seed(0)
    D = initialised_discriminator(tiny_params(minibatch_std=on)).eval()  # BatchNorm on running statistics
    x = torch.randn(4, 3, 64, 64)
    others = torch.cat([x[:1], torch.randn(3, 3, 64, 64)])  # the first image, in another batch
    with torch.no_grad():
        assert torch.equal(D(x)[0], D(others)[0]) is not on


def test_spectral_norm_wraps_every_convolution_of_d_after_the_init() -> None:
    from torch.nn.utils import parametrize

    from apeart.gan.models import initialised_discriminator

    torch.manual_seed(0)
    D = initialised_discriminator(tiny_params(spectral_norm=True))
    convs = [m for m in D.main if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5 and all(parametrize.is_parametrized(c, "weight") for c in convs)
    torch.manual_seed(0)
    plain = initialised_discriminator(tiny_params(spectral_norm=False))
    plain_convs = [m for m in plain.main if isinstance(m, torch.nn.Conv2d)]
    assert not any(parametrize.is_parametrized(c, "weight") for c in plain_convs)
    for c, p in zip(convs, plain_convs):  # the same N(0, init_std) draw underneath, then divided by sigma
        assert torch.equal(c.parametrizations.weight.original, p.weight)
    D.train()
    for _ in range(20):  # power iteration converges: the largest singular value of each conv's matrix -> 1
        D(torch.randn(2, 3, 64, 64))
    for c in convs:
        assert torch.linalg.matrix_norm(c.weight.detach().flatten(1), ord=2) == pytest.approx(1.0, abs=0.05)


def test_hinge_loss_is_zero_beyond_the_margins_and_bce_keeps_the_real_label() -> None:
    from apeart.gan.train import discriminator_loss

    real, fake = torch.tensor([1.5, 2.0]), torch.tensor([-1.0, -3.0])
    assert float(discriminator_loss("hinge", real, fake, 0.9)) == 0.0
    assert float(discriminator_loss("hinge", torch.tensor([0.0]), torch.tensor([0.5]), 0.9)) == pytest.approx(2.5)
    bce = discriminator_loss("bce", torch.tensor([0.0]), torch.tensor([0.0]), 0.9)
    assert float(bce) == pytest.approx(2 * torch.log(torch.tensor(2.0)).item())


def test_lr_decay_holds_then_falls_linearly_to_zero() -> None:
    assert [lr_factor(step, 8, 0.5) for step in range(9)] == [1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0]
    assert [lr_factor(step, 4, 0.0) for step in range(5)] == [1, 0.75, 0.5, 0.25, 0]
    assert [lr_factor(step, 4, 1.0) for step in range(5)] == [1, 1, 1, 1, 1]


def test_a_trainer_decays_both_lrs_by_step(data: torch.Tensor, tmp_path: Path) -> None:
    p = tiny_params(lr_decay_from=0.5, d_lr_mult=2.0)  # 2 epochs x 4 batches: the fall starts at step 4 (at 4/4), then 3/4 .. 1/4
    seen: dict[str, list[float]] = {"G": [], "D": []}
    trainer = Trainer(p, data, CPU, tmp_path / "a.pt")
    for name, opt in (("G", trainer.opt_g), ("D", trainer.opt_d)):
        opt.register_step_pre_hook(lambda opt, *_, name=name: seen[name].append(opt.param_groups[0]["lr"]))
    trainer.run()
    factors = [1] * 5 + [0.75, 0.5, 0.25]
    assert seen["G"] == pytest.approx([p.lr * f for f in factors])
    assert seen["D"] == pytest.approx([2 * p.lr * f for f in factors])
    assert trainer.opt_g.param_groups[0]["lr"] == trainer.opt_d.param_groups[0]["lr"] == 0.0  # after the last step
    constant = Trainer(tiny_params(), data, CPU, tmp_path / "b.pt")
    constant.run()
    assert constant.opt_g.param_groups[0]["lr"] == tiny_params().lr


@pytest.mark.parametrize("over", [{"spectral_norm": True, "loss": "hinge"}, {"d_optimizer": "rmsprop"},
                                  {"lr_decay_from": 0.25}, {"minibatch_std": True}])
def test_levers_train_and_resume_exactly(data: torch.Tensor, tmp_path: Path, over: dict) -> None:
    p = tiny_params(**over)
    straight = Trainer(p, data, CPU, tmp_path / "a.pt")
    straight.run()
    assert isinstance(straight.opt_d, torch.optim.RMSprop if p.d_optimizer == "rmsprop" else torch.optim.Adam)
    killed = StopAfter(p, data, CPU, tmp_path / "b.pt")
    with pytest.raises(Interrupted):
        killed.run()
    resumed = Trainer(p, data, CPU, tmp_path / "b.pt")
    resumed.run()
    assert_same(state_of(straight), state_of(resumed))
    assert all(torch.isfinite(torch.tensor([h["d_loss"], h["g_loss"]])).all() for h in straight.state.history)


def test_paper_d_is_unchanged_by_the_new_levers() -> None:
    from apeart.gan.models import initialised_discriminator

    p = tiny_params(loss="bce", spectral_norm=False, d_optimizer="adam", minibatch_std=False)
    torch.manual_seed(3)
    D = initialised_discriminator(p)
    torch.manual_seed(3)
    ref = Discriminator(p.ndf, p.leaky_slope)
    ref.apply(lambda m: init_weights(m, p.init_std))
    assert_same(D.state_dict(), ref.state_dict())
    with pytest.raises(ParamsError):
        defaults.parse({"gan": {"d_optimizer": "sgd"}})
