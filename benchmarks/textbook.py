"""A plain, tutorial-style PyTorch WGAN-GP iteration: the yardstick for wganbench's speed.

Written the way most tutorials and many repositories write it (separate critic calls on the
real, fake and interpolated batches; the penalty through ``torch.autograd.grad(...,
create_graph=True)``; nothing fused, nothing compiled), on the same models, optimisers and batch
sizes as wganbench's step. ``wganbench bench`` times it interleaved with wganbench's step in one
run and reports the ratio, so the comparison holds on a noisy machine.
"""

from __future__ import annotations

import torch


def textbook_wgan_gp_iteration(generator, critic, opt_g, opt_c, real_batches, latent_dim: int,
                               gp_lambda: float = 10.0, n_critic: int = 5,
                               gen_batch: int | None = None) -> None:
    """n_critic critic steps (one real batch each), then one generator step (WGAN-GP Alg. 1)."""
    device = real_batches[0].device
    for i in range(n_critic):
        real = real_batches[i % len(real_batches)]
        m = real.shape[0]
        z = torch.randn(m, latent_dim, device=device)
        fake = generator(z).detach()
        d_real = critic(real).mean()
        d_fake = critic(fake).mean()
        eps = torch.rand(m, *([1] * (real.dim() - 1)), device=device)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        grad = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)[0]
        penalty = ((grad.reshape(m, -1).norm(2, dim=1) - 1) ** 2).mean()
        loss = d_fake - d_real + gp_lambda * penalty
        opt_c.zero_grad()
        loss.backward()
        opt_c.step()
    z = torch.randn(gen_batch or real_batches[0].shape[0], latent_dim, device=device)
    for p in critic.parameters():
        p.requires_grad_(False)
    g_loss = -critic(generator(z)).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    for p in critic.parameters():
        p.requires_grad_(True)
