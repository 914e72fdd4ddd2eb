"""Building blocks over the 17 joints: graph convolution, multi-head self-attention, embeddings."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from binopose.skeleton import adjacency


def normalized_adjacency() -> Tensor:
    """``D^-1/2 (A + I) D^-1/2`` of the skeleton, (17, 17) float32."""
    a = torch.from_numpy(adjacency(self_loops=True))
    d = a.sum(-1).rsqrt()
    return d[:, None] * a * d[None, :]


class GraphConv(nn.Module):
    """Chebyshev-style graph convolution of order 1: ``[h, A h] W`` with a learnable edge correction."""

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.register_buffer("adj", normalized_adjacency(), persistent=False)
        self.adj_delta = nn.Parameter(torch.zeros(17, 17))  # learned, masked to the skeleton's edges
        self.register_buffer("mask", (normalized_adjacency() > 0).float(), persistent=False)
        self.lin = nn.Linear(2 * dim_in, dim_out)

    def forward(self, h: Tensor) -> Tensor:
        """h: (B, J, C_in) -> (B, J, C_out)."""
        a = self.adj + self.adj_delta * self.mask
        return self.lin(torch.cat([h, torch.einsum("ij,bjc->bic", a, h)], -1))


class Attention(nn.Module):
    """Multi-head self-attention over the joints (no mask: every joint sees every joint)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, h: Tensor) -> Tensor:
        B, J, C = h.shape
        q, k, v = self.qkv(h).view(B, J, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(q, k, v)
        return self.out(o.transpose(1, 2).reshape(B, J, C))


def sinusoidal(x: Tensor, dim: int, max_period: float = 1000.0) -> Tensor:
    """Sinusoidal embedding of a scalar per sample: (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=x.device, dtype=torch.float32) / half)
    ang = x.float()[:, None] * freqs[None] * 100.0
    return torch.cat([torch.cos(ang), torch.sin(ang)], -1)


class Block(nn.Module):
    """Pre-norm residual block: graph conv (FiLM-conditioned), attention, MLP."""

    def __init__(self, dim: int, heads: int, cond_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.gconv = GraphConv(dim, dim)
        self.film = nn.Linear(cond_dim, 2 * dim)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.drop = nn.Dropout(dropout)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, h: Tensor, cond: Tensor) -> Tensor:
        scale, shift = self.film(cond).unsqueeze(1).chunk(2, -1)
        h = h + self.drop(F.gelu(self.gconv(self.norm1(h)) * (1 + scale) + shift))
        h = h + self.drop(self.attn(self.norm2(h)))
        return h + self.drop(self.mlp(self.norm3(h)))
