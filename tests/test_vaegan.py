"""VAE-GAN (Larsen et al. 2016, seed 003): shapes, Dis_l, the KL term, the reparameterisation, the loss routing,
training lowers the reconstruction loss, exact resume, failures, the saved decoder, the shared yardstick."""
from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch

import defaults
from apeart.core.config import ParamsError
from apeart.vaegan.params import VaeganParams
from apeart.gan.sample import sample_batches
from apeart.vaegan.models import DcganDecoder, Discriminator, Encoder, LarsenDecoder, seeded_networks
from apeart.vaegan.sample import load_decoder, save_decoder
from apeart.core.trainer import TrainingError
from apeart.vaegan.train import (
    Trainer,
    feature_llike,
    kl_divergence,
    reparameterise,
)
from apeart.vaegan.figures import latent_walk, reconstruct

CPU = torch.device("cpu")


def tiny_params(**over) -> VaeganParams:
    base = {"seed": 0, "epochs": 2, "batch_size": 8, "latent": 8, "width": 0.0625, "device": "cpu"}
    return defaults.vaegan(**{**base, **over})


@pytest.fixture(scope="module")
def data() -> torch.Tensor:
    return torch.randint(0, 256, (24, 3, 64, 64), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)


def images(n: int = 4) -> torch.Tensor:
    return torch.rand(n, 3, 64, 64, generator=torch.Generator().manual_seed(2)) * 2 - 1


# --- models --------------------------------------------------------------------------------------------


def test_shapes_at_larsen_width_and_scaled() -> None:
    x = images()
    for width in (1.0, 0.125):
        E, Dec, D = Encoder(128, width), LarsenDecoder(128, width), Discriminator(width)
        mu, logvar = E(x)
        assert mu.shape == logvar.shape == (4, 128)
        out = Dec(mu)
        assert out.shape == (4, 3, 64, 64) and out.abs().max() <= 1
        assert torch.equal(Dec.eval()(mu), Dec(mu[:, :, None, None]))  # takes z like the DCGAN's G
        assert D(x).shape == (4,)
        assert D(x, dis_l=True).shape == (4, round(256 * width), 8, 8)  # Larsen's Dis_l: 256 x 8 x 8
    assert Encoder(128, 1.0).features[10].out_features == 2048  # the paper's FC 2048
    assert DcganDecoder(16, 8)(torch.randn(2, 16)).shape == (2, 3, 64, 64)


@pytest.mark.parametrize("layer", [1, 2, 3, 4])
def test_dis_l_is_the_raw_output_of_ds_kth_convolution(layer: int) -> None:
    """Before BatchNorm (and before the first layer's in-place ReLU), as Larsen's recon_depth=9 cut."""
    D = Discriminator(0.125, layer)
    seen = {}
    D.convs[layer - 1].register_forward_hook(lambda m, i, o: seen.setdefault("out", o.detach().clone()))
    feats = D(images(), dis_l=True)
    assert torch.equal(feats, seen["out"])
    assert (feats < 0).any()  # not through a ReLU
    assert defaults.vaegan().dis_layer == 4


def test_params_validate() -> None:
    assert defaults.parse({"vaegan": {"decoder": "dcgan", "optimizer": "rmsprop"}}).vaegan.decoder == "dcgan"
    with pytest.raises(ParamsError, match="vaegan.dis_layer: 5 is out of range"):
        defaults.parse({"vaegan": {"dis_layer": 5}})
    with pytest.raises(ParamsError, match="sample.model: 'vae' is not allowed"):
        defaults.parse({"sample": {"model": "vae"}})


# --- losses --------------------------------------------------------------------------------------------


def test_kl_against_a_hand_computed_value() -> None:
    # mu = (1, 0), sigma^2 = (1, 2): 1/2 [(1 + 1 - 1 - 0) + (2 + 0 - 1 - ln 2)] = 1 - ln(2) / 2
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2.0)]])
    assert kl_divergence(mu, logvar).item() == pytest.approx(1 - math.log(2) / 2, rel=1e-6)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    assert kl_divergence(mu, logvar).item() == pytest.approx(torch.distributions.kl_divergence(q, p).sum().item())
    assert kl_divergence(torch.zeros(3, 5), torch.zeros(3, 5)).abs().max() == 0


def test_reparameterisation_gradient_reaches_the_encoder() -> None:
    E, Dec, _ = seeded_networks(tiny_params())
    mu, logvar = E(images())
    z = reparameterise(mu, logvar, torch.randn(mu.shape, generator=torch.Generator().manual_seed(0)))
    Dec(z).pow(2).mean().backward()
    assert E.features[0].weight.grad.abs().sum() > 0
    assert E.mu.weight.grad.abs().sum() > 0 and E.logvar.weight.grad.abs().sum() > 0


def test_llike_compares_discriminator_features_and_trains_no_discriminator_weight() -> None:
    D = Discriminator(0.125)
    x, y = images(4), images(8)[4:]
    fake = x.clone().requires_grad_(True)
    loss = feature_llike(D, fake, y)
    both = D(torch.cat([x, y]), dis_l=True)  # one batch, as Larsen's code: shared BatchNorm statistics
    expected = 0.5 * (both[:4] - both[4:]).pow(2).flatten(1).sum(1)
    assert torch.allclose(loss, expected)
    assert feature_llike(D, y, y).abs().max() == 0
    other = Discriminator(0.125)
    other.convs[0].weight.data.mul_(2)
    assert not torch.allclose(feature_llike(other, x, y), loss)  # D's features, not pixels
    loss.sum().backward()
    assert fake.grad.abs().sum() > 0
    assert all(p.grad is None for p in D.parameters())


def _check_routing(data: torch.Tensor, tmp_path: Path, dec_gan: str, pixel_weight: float, gan_term: str) -> tuple:
    """One backward of `total` gives each network the gradient of its own losses, each checked against a
    separate autograd pass over the same forward: E <- L_prior + L_llike, D <- L_GAN, and
    Dec <- gamma x L_llike (the same run at gamma 1, times gamma) + the decoder's GAN term `gan_term`."""
    t = Trainer(tiny_params(gamma=0.01, dec_gan=dec_gan, pixel_weight=pixel_weight), data, CPU, tmp_path / "c.pt")
    real = data[:8].float() / 127.5 - 1
    rng = t.rng.get_state()
    t.losses(real)["total"].backward()
    got = {n: [q.grad.clone() for q in m.parameters()] for n, m in (("E", t.E), ("Dec", t.Dec), ("D", t.D))}
    for m in (t.E, t.Dec, t.D):
        m.zero_grad(set_to_none=True)
    t.rng.set_state(rng)
    again = t.losses(real)  # same noise; BatchNorm running stats moved, the batch statistics did not
    want_e = torch.autograd.grad(again["kl"] + again["llike"], list(t.E.parameters()), retain_graph=True)
    want_d = torch.autograd.grad(again["d_loss"], list(t.D.parameters()), retain_graph=True)
    for g, w in [*zip(got["E"], want_e), *zip(got["D"], want_d)]:
        assert torch.allclose(g, w, rtol=1e-3, atol=1e-6)
    dec_gan_grad = torch.autograd.grad(again[gan_term], list(t.Dec.parameters()), retain_graph=True, allow_unused=True)
    unit = Trainer(tiny_params(gamma=1.0, dec_gan=dec_gan, pixel_weight=pixel_weight), data, CPU, tmp_path / "u.pt")
    unit.rng.set_state(rng)
    dec_llike = torch.autograd.grad(unit.losses(real)["llike"], list(unit.Dec.parameters()), allow_unused=True)
    for g, a, b in zip(got["Dec"], dec_llike, dec_gan_grad):
        a = 0 if a is None else a
        b = 0 if b is None else b
        assert torch.allclose(g, 0.01 * a + b, rtol=1e-3, atol=1e-5)
    assert any(b is not None and b.abs().sum() > 0 for b in dec_gan_grad)
    return again, real, rng


def test_one_backward_routes_each_loss_to_its_networks(data: torch.Tensor, tmp_path: Path) -> None:
    """Larsen's formulation: decoder <- gamma L_llike - L_GAN (autograd through the gradient reversal of
    L_GAN is already -dL_GAN/dtheta)."""
    _check_routing(data, tmp_path, "minimax", 0.0, "d_loss")


def test_nonsaturating_routing_and_pixel_term(data: torch.Tensor, tmp_path: Path) -> None:
    """The defaults: decoder <- gamma (L_llike + pixel NLL) + BCE(D(fakes), 1) through D's detached weights;
    and the pixel term is in L_llike: the same forward without it is smaller."""
    again, real, rng = _check_routing(data, tmp_path, "nonsaturating", 0.5, "dec_gan")
    bare = Trainer(tiny_params(gamma=0.01, pixel_weight=0.0), data, CPU, tmp_path / "b.pt")
    bare.rng.set_state(rng)
    assert float(again["llike"].detach()) > float(bare.losses(real)["llike"].detach())


def test_a_few_steps_lower_the_reconstruction_loss(tmp_path: Path) -> None:
    batch = torch.randint(0, 256, (8, 3, 64, 64), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    p = tiny_params(gamma=1.0, batch_size=8, lr=1e-3)
    t = Trainer(p, batch, CPU, tmp_path / "r.pt")
    real = batch.float() / 127.5 - 1
    llike = [t.step(real)["llike"] for _ in range(25)]
    assert sum(llike[-3:]) < 0.8 * sum(llike[:3]), llike  # measured: 361 -> 243


# --- training ------------------------------------------------------------------------------------------


class Interrupted(Exception):
    pass


class StopAfter(Trainer):
    """A trainer killed at the start of epoch 1, after epoch 0 was checkpointed."""

    def _epoch(self, epoch: int, bar) -> None:
        if epoch == 1:
            raise Interrupted
        super()._epoch(epoch, bar)


def nets(t: Trainer) -> dict[str, torch.Tensor]:
    return {f"{n}.{k}": v for n, m in (("E", t.E), ("Dec", t.Dec), ("D", t.D)) for k, v in m.state_dict().items()}


def test_exact_resume(data: torch.Tensor, tmp_path: Path) -> None:
    p = tiny_params(optimizer="rmsprop")
    straight = Trainer(p, data, CPU, tmp_path / "a.pt")
    straight.run()
    killed = StopAfter(p, data, CPU, tmp_path / "b.pt")
    with pytest.raises(Interrupted):
        killed.run()
    resumed = Trainer(p, data, CPU, tmp_path / "b.pt")
    state = resumed.run()
    assert resumed.resumed_from == 1 and state.step == straight.state.step == 6
    a, b = nets(straight), nets(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert state.history == straight.state.history
    assert len(resumed.samples) == 3 and all(torch.equal(a, b) for a, b in zip(resumed.samples, straight.samples))
    assert (tmp_path / "b.pt").read_bytes() == (tmp_path / "a.pt").read_bytes()


def test_checkpoint_of_other_params_is_refused(data: torch.Tensor, tmp_path: Path) -> None:
    Trainer(tiny_params(epochs=1), data, CPU, tmp_path / "c.pt").run()
    with pytest.raises(TrainingError, match="other train_vaegan params"):
        Trainer(tiny_params(epochs=1, gamma=1e-3), data, CPU, tmp_path / "c.pt").run()


def test_nan_stops_training_naming_the_step(data: torch.Tensor, tmp_path: Path) -> None:
    class Broken(Trainer):
        def losses(self, real):
            out = super().losses(real)
            if self.state.step == 4:
                out["kl"] = out["kl"] * float("nan")
            return out

    with pytest.raises(TrainingError, match=r"non-finite or diverged kl \(nan\) at epoch 2, step 5; lower vaegan.lr; "
                                            r"last good checkpoint \(epoch 1\) kept"):
        Broken(tiny_params(), data, CPU, tmp_path / "n.pt").run()


def test_equilibrium_rule_skips_the_winning_side(data: torch.Tensor, tmp_path: Path) -> None:
    t = Trainer(tiny_params(margin=0.35), data, CPU, tmp_path / "e.pt")
    real = data[:8].float() / 127.5 - 1
    rows = [t.step(real) for _ in range(4)]
    lo, hi = 0.68 - 0.35, 0.68 + 0.35
    for r in rows:
        d_ok = not (r["bce_real"] < lo or r["bce_fake"] < lo)
        dec_ok = not (r["bce_real"] > hi or r["bce_fake"] > hi)
        assert (r["d_update"], r["dec_update"]) == ((float(d_ok), float(dec_ok)) if d_ok or dec_ok else (1.0, 1.0))
    always = Trainer(tiny_params(margin=0), data, CPU, tmp_path / "f.pt")
    assert all(always.step(real)["d_update"] == 1.0 for _ in range(2))


def test_saved_decoder_samples_like_the_dcgan_and_the_encoder_walks(data: torch.Tensor, tmp_path: Path) -> None:
    for decoder in ("larsen", "dcgan"):
        p = tiny_params(decoder=decoder, ngf=8)
        t = Trainer(p, data, CPU, tmp_path / f"{decoder}.pt")
        save_decoder(t.Dec, p, tmp_path / f"{decoder}-g.pt")
        Dec, nz = load_decoder(tmp_path / f"{decoder}-g.pt", CPU)
        assert nz == 8
        batches = sample_batches(Dec, nz, 2, 3, seed=0)
        assert [b.shape for b in batches] == [(3, 3, 64, 64)] * 2 and batches[0].dtype == torch.uint8
        assert torch.equal(sample_batches(Dec, nz, 1, 3, seed=0)[0], sample_batches(copy.deepcopy(t.Dec).eval(), nz, 1, 3, 0)[0])
    walk = latent_walk(t.E, t.Dec, data[:2], data[2:4], 5, CPU)
    assert walk.shape == (10, 3, 64, 64)
    start = reconstruct(t.E, t.Dec, data[:1], CPU)[0]  # a walk starts at the first ape's reconstruction
    assert (walk[0].int() - start.int()).abs().max() <= 1
