"""Hybrid CNN + LSTM autoencoder for single 140-sample heartbeats.

Two encoders read the same beat in parallel:

* a CNN branch (strided 1-D convolutions) that sees local morphology (QRS width, ST shape), and
* an LSTM branch that reads the beat as a sequence of short patches and sees temporal order
  (what follows what, and when).

A learned per-dimension gate fuses the two branch embeddings into one latent code, and a
transposed-convolution decoder reconstructs the beat. ``branches`` in the config switches either
encoder off, which is how the ablation (CNN-only, LSTM-only, hybrid) is trained with one code path.

This module imports torch only; it knows nothing of files, scalers or thresholds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

BRANCHES = ("hybrid", "cnn", "lstm")


@dataclass(frozen=True)
class AutoencoderConfig:
    """Architecture of :class:`HybridAutoencoder`; stored in the bundle's model.json."""

    beat_length: int = 140
    branches: str = "hybrid"  # "hybrid" | "cnn" | "lstm"
    cnn_channels: int = 32
    lstm_hidden: int = 32
    patch_size: int = 4  # samples per LSTM step: 140 / 4 = 35 steps
    branch_dim: int = 32  # width of each branch embedding
    latent_dim: int = 16
    decoder_channels: int = 32
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.branches not in BRANCHES:
            raise ValueError(f"branches must be one of {BRANCHES}, got {self.branches!r}")
        if self.beat_length % 4:
            raise ValueError("beat_length must be divisible by 4 (two stride-2 decoder stages)")
        if self.beat_length % self.patch_size:
            raise ValueError("beat_length must be divisible by patch_size")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> AutoencoderConfig:
        """Build a config from a dict, rejecting unknown keys (a bundle from another model)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown architecture keys: {sorted(unknown)}")
        return cls(**data)


class CNNEncoder(nn.Module):
    """Three stride-2 convolutions, then a linear map of the flattened feature map."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        c = cfg.cnn_channels
        self.convs = nn.Sequential(
            nn.Conv1d(1, c // 2, kernel_size=7, stride=2, padding=3),
            nn.GELU(),
            nn.Conv1d(c // 2, c, kernel_size=5, stride=2, padding=2),
            nn.GELU(),
            nn.Conv1d(c, c, kernel_size=5, stride=2, padding=2),
            nn.GELU(),
        )
        length = cfg.beat_length
        for _ in range(3):  # each stride-2 conv (kernel 2p+1, padding p) gives ceil(L / 2)
            length = (length + 1) // 2
        self.proj = nn.Linear(c * length, cfg.branch_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.convs(x.unsqueeze(1)).flatten(1))


class LSTMEncoder(nn.Module):
    """A bidirectional LSTM over non-overlapping patches; final states of both directions."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.patch_size = cfg.patch_size
        self.lstm = nn.LSTM(cfg.patch_size, cfg.lstm_hidden, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(2 * cfg.lstm_hidden, cfg.branch_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = x.reshape(x.shape[0], -1, self.patch_size)
        _, (h_n, _) = self.lstm(patches)
        return self.proj(torch.cat([h_n[0], h_n[1]], dim=1))


class GatedFusion(nn.Module):
    """Learned per-dimension gate: z = W (g * cnn + (1 - g) * lstm), g = sigmoid(V [cnn; lstm])."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.gate = nn.Linear(2 * cfg.branch_dim, cfg.branch_dim)
        self.out = nn.Linear(cfg.branch_dim, cfg.latent_dim)

    def forward(self, h_cnn: torch.Tensor, h_lstm: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.gate(torch.cat([h_cnn, h_lstm], dim=1)))
        return self.out(g * h_cnn + (1.0 - g) * h_lstm)

    def gate_values(self, h_cnn: torch.Tensor, h_lstm: torch.Tensor) -> torch.Tensor:
        """Gate activations (share given to the CNN branch), for inspection."""
        return torch.sigmoid(self.gate(torch.cat([h_cnn, h_lstm], dim=1)))


class ConvDecoder(nn.Module):
    """Latent -> (channels, L/4) -> conv -> two stride-2 transposed convolutions -> L samples.

    The wide layers work at L/4 and L/2 resolution; only a single channel is produced at full
    resolution, which keeps training on a CPU fast.
    """

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        c = cfg.decoder_channels
        self.base_len = cfg.beat_length // 4
        self.channels = c
        self.fc = nn.Linear(cfg.latent_dim, c * self.base_len)
        self.up = nn.Sequential(
            nn.GELU(),
            nn.Conv1d(c, c, kernel_size=5, padding=2),
            nn.GELU(),
            nn.ConvTranspose1d(c, c // 2, kernel_size=4, stride=2, padding=1),
            nn.GELU(),
            nn.ConvTranspose1d(c // 2, 1, kernel_size=4, stride=2, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], self.channels, self.base_len)
        return self.up(h).squeeze(1)


class HybridAutoencoder(nn.Module):
    """CNN and LSTM encoders in parallel, gated fusion into a latent code, convolutional decoder."""

    def __init__(self, cfg: AutoencoderConfig | None = None):
        super().__init__()
        self.cfg = cfg or AutoencoderConfig()
        use_cnn = self.cfg.branches in ("hybrid", "cnn")
        use_lstm = self.cfg.branches in ("hybrid", "lstm")
        self.cnn = CNNEncoder(self.cfg) if use_cnn else None
        self.lstm = LSTMEncoder(self.cfg) if use_lstm else None
        if self.cfg.branches == "hybrid":
            self.fusion = GatedFusion(self.cfg)
        else:
            self.fusion = nn.Linear(self.cfg.branch_dim, self.cfg.latent_dim)
        self.dropout = nn.Dropout(self.cfg.dropout)
        self.decoder = ConvDecoder(self.cfg)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L) scaled beats -> (B, latent_dim) latent codes."""
        if self.cnn is not None and self.lstm is not None:
            return self.fusion(self.cnn(x), self.lstm(x))
        branch = self.cnn if self.cnn is not None else self.lstm
        return self.fusion(branch(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, L) reconstructed beats."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.dropout(self.encode(x)))


def reconstruction_score(
    x: torch.Tensor, recon: torch.Tensor, position_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """The anomaly score of each beat: mean squared reconstruction error over its positions.

    The one definition used by the training loss, by calibration (out-of-fold scores) and by the
    detector at serving time, so the three cannot drift apart.

    Args:
        x: (B, L) scaled beats.
        recon: (B, L) their reconstructions.
        position_weights: optional (L,) non-negative weights, normalised here to mean 1 so the score
            stays a mean squared error in the beats' units whatever their scale.

    Returns:
        (B,) scores, in the dtype of ``x``.
    """
    squared = (x - recon).square()
    if position_weights is None:
        return squared.mean(dim=1)
    weights = position_weights.to(squared.dtype)
    return (squared * (weights / weights.mean())).mean(dim=1)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class AutoencoderEnsemble(nn.Module):
    """Several autoencoders of one architecture (different seeds); their reconstructions are averaged.

    With one member this is just that autoencoder. ``encode`` concatenates the members' latent codes.
    """

    def __init__(self, cfg: AutoencoderConfig | None = None, n_members: int = 1):
        super().__init__()
        if n_members < 1:
            raise ValueError("n_members must be >= 1")
        self.cfg = cfg or AutoencoderConfig()
        self.members = nn.ModuleList(HybridAutoencoder(self.cfg) for _ in range(n_members))

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim * len(self.members)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.encode(x) for m in self.members], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.members) == 1:
            return self.members[0](x)
        return torch.stack([m(x) for m in self.members]).mean(dim=0)
