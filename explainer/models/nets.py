"""The two noise-prediction networks the app ships: a tiny UNet for MNIST and an MLP for 2D data.

Both predict eps from (x_t, t) (Ho et al. 2020, Eq. 14), with t an integer
timestep embedded sinusoidally (Vaswani et al. 2017) and, for the UNet, a
class label whose last index is the "no label" class used for classifier-free
guidance (Ho & Salimans 2022).

Why the UNet looks the way it does (measured on a 2-core CPU, see explainer.bench):
the 28x28 input is folded into a 14x14x4 tensor (pixel-unshuffle) so every
convolution runs on 4x fewer positions; the UNet then has just two
resolutions (14x14 and 7x7), where a 3x3 convolution already sees the whole
digit after two blocks, so attention buys little and costs much on a CPU.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps, shape (B, dim) (Vaswani et al. 2017, Sec. 3.5)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, twice, with the embedding as a per-channel scale and shift."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int = 8):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        # Start each block as the identity so the deep net trains like a shallow one at first.
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class TinyUNet(nn.Module):
    """A two-level UNet on pixel-unshuffled 28x28 images, conditioned on t and a class label."""

    def __init__(self, channels: int = 64, num_classes: int = 10, img_channels: int = 1,
                 fold: int = 2, blocks: int = 2):
        super().__init__()
        self.config = dict(channels=channels, num_classes=num_classes, img_channels=img_channels,
                           fold=fold, blocks=blocks)
        self.num_classes = num_classes
        self.null_label = num_classes  # the extra "no label" class
        c, e = channels, 4 * channels
        cin = img_channels * fold * fold
        self.fold = fold
        self.time_mlp = nn.Sequential(nn.Linear(c, e), nn.SiLU(), nn.Linear(e, e))
        self.label_emb = nn.Embedding(num_classes + 1, e)
        self.stem = nn.Conv2d(cin, c, 3, padding=1)
        self.down1 = nn.ModuleList([ResBlock(c, c, e) for _ in range(blocks - 1)])
        self.downsample = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.mid = nn.ModuleList([ResBlock(c, 2 * c, e)] + [ResBlock(2 * c, 2 * c, e) for _ in range(blocks - 1)])
        self.upsample = nn.Conv2d(2 * c, c, 3, padding=1)
        self.up1 = nn.ModuleList([ResBlock(2 * c, c, e)] + [ResBlock(c, c, e) for _ in range(blocks - 2)])
        self.out_norm = nn.GroupNorm(8, c)
        self.out = nn.Conv2d(c, cin, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            labels = torch.full((x.shape[0],), self.null_label, dtype=torch.long, device=x.device)
        emb = self.time_mlp(timestep_embedding(t, self.config["channels"])) + self.label_emb(labels)
        size = x.shape[-2:]
        h = F.pixel_unshuffle(x, self.fold)
        h = self.stem(h)
        for blk in self.down1:
            h = blk(h, emb)
        skip = h
        h = self.downsample(h)
        for blk in self.mid:
            h = blk(h, emb)
        h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
        h = torch.cat([self.upsample(h), skip], dim=1)
        for blk in self.up1:
            h = blk(h, emb)
        h = self.out(F.silu(self.out_norm(h)))
        return F.pixel_shuffle(h, self.fold)[..., : size[0], : size[1]]


class ToyMLP(nn.Module):
    """eps-prediction MLP for 2D points: [x, sin/cos(t)] -> hidden -> 2, with SiLU."""

    def __init__(self, hidden: int = 128, layers: int = 3, t_dim: int = 16):
        super().__init__()
        self.config = dict(hidden=hidden, layers=layers, t_dim=t_dim)
        dims = [2 + t_dim] + [hidden] * layers
        mods: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [nn.Linear(a, b), nn.SiLU()]
        mods.append(nn.Linear(hidden, 2))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, timestep_embedding(t, self.config["t_dim"], max_period=1000.0)], dim=-1))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
