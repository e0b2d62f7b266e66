"""The autoencoder's shapes, gradients and config handling on tiny inputs."""

import pytest
import torch

from ecg_backend.ml.model import BRANCHES, AutoencoderConfig, AutoencoderEnsemble, HybridAutoencoder

TINY = dict(cnn_channels=4, lstm_hidden=4, branch_dim=4, latent_dim=3, decoder_channels=4)


@pytest.mark.parametrize("branches", BRANCHES)
def test_forward_shapes(branches):
    torch.manual_seed(0)
    model = HybridAutoencoder(AutoencoderConfig(branches=branches, **TINY))
    x = torch.randn(5, 140)
    assert model(x).shape == (5, 140)
    assert model.encode(x).shape == (5, 3)


@pytest.mark.parametrize("branches", BRANCHES)
def test_every_parameter_gets_a_gradient(branches):
    torch.manual_seed(0)
    model = HybridAutoencoder(AutoencoderConfig(branches=branches, **TINY))
    x = torch.randn(3, 140)
    torch.nn.functional.mse_loss(model(x), x).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_hybrid_uses_both_branches():
    model = HybridAutoencoder(AutoencoderConfig(**TINY))
    assert model.cnn is not None and model.lstm is not None
    assert HybridAutoencoder(AutoencoderConfig(branches="cnn", **TINY)).lstm is None
    assert HybridAutoencoder(AutoencoderConfig(branches="lstm", **TINY)).cnn is None


def test_fusion_gate_is_between_zero_and_one():
    torch.manual_seed(1)
    model = HybridAutoencoder(AutoencoderConfig(**TINY))
    x = torch.randn(4, 140)
    gate = model.fusion.gate_values(model.cnn(x), model.lstm(x))
    assert gate.shape == (4, 4)
    assert ((gate > 0) & (gate < 1)).all()


def test_single_beat_batch():
    model = HybridAutoencoder(AutoencoderConfig(**TINY)).eval()
    with torch.inference_mode():
        assert model(torch.zeros(1, 140)).shape == (1, 140)


def test_ensemble_averages_members_and_concatenates_codes():
    torch.manual_seed(2)
    cfg = AutoencoderConfig(**TINY)
    ens = AutoencoderEnsemble(cfg, n_members=2).eval()
    x = torch.randn(2, 140)
    with torch.inference_mode():
        expected = (ens.members[0](x) + ens.members[1](x)) / 2
        torch.testing.assert_close(ens(x), expected)
        assert ens.encode(x).shape == (2, 6)
    assert ens.latent_dim == 6


def test_config_round_trip_and_validation():
    cfg = AutoencoderConfig(**TINY)
    assert AutoencoderConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="branches"):
        AutoencoderConfig(branches="transformer")
    with pytest.raises(ValueError, match="patch_size"):
        AutoencoderConfig(patch_size=3)
    with pytest.raises(ValueError, match="unknown architecture keys"):
        AutoencoderConfig.from_dict({**cfg.to_dict(), "heads": 4})
