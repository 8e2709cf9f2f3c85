#!/usr/bin/python3
"""PyTorch reference trajectories for package reconpatch/head (the training loop).

Run from the repository root with Debian's interpreter (torch 1.13):

    /usr/bin/python3 scripts/gen_head_fixtures.py

It writes reconpatch/head/testdata/head.bin (seeded: a rerun writes the same file), in the
format of scripts/gen_autograd_fixtures.py (read by autograd/autogradtest.ParseFixture), and
reuses that script's AdamP, soft labels and relaxed contrastive loss, so the two references
cannot drift apart.

Each case is a few steps of the whole ReConPatch training loop on a small head
f = Linear(24 -> 16), g = Linear(16 -> 8), from given initial weights:

    z_bar = g_bar(f_bar(x))          EMA network, no gradient
    w     = soft_labels(z_bar)       pairwise + contextual, no gradient
    z     = g(f(x))                  online network
    loss  = relaxed_contrastive(z, w); backward
    grad(f.bias) = grad(g.bias) = 0  exactly: the loss depends on z only through the differences
                                     z_i - z_j, so the sum over i of dL/dz_i, which both bias
                                     gradients are made of, is 0; the Go trainer sets them to 0
                                     rather than letting Adam amplify float32 rounding noise
    optimiser step; zero grad
    theta_bar <- gamma * theta_bar + (1 - gamma) * theta    (after every optimiser step)
    CosineAnnealingLR(T_max = epochs) stepped once per epoch

  steps     Trainer level: 4 given batches of 32 in 3 epochs (2 + 1 + 1 steps), AdamP,
            raw z_bar, EMA 0.9; per-step losses, medians and learning rates, the online and EMA
            weights after the last step
  loop_*    Train level: all 40 features in one batch per epoch (Train shuffles the rows; the
            loss is invariant to their order), 3 epochs; per-epoch losses, medians and learning
            rates, the final online weights
            loop_adamp: AdamP, L2-normalised z_bar; loop_sgd: SGD with momentum, adaptive sigma,
            eta_min > 0

Everything is computed in float64 from float32 inputs and stored as float32. The script checks
that no neighbour set of the contextual similarity and no AdamP projection decision is close
enough to a tie for float32 rounding to flip it (it redraws the data otherwise), and prints how
far torch's own float32 run is from the float64 reference.
"""

import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_autograd_fixtures as ga  # noqa: E402

DIN, DF, DG = 24, 16, 8
NAMES = ["f.weight", "f.bias", "g.weight", "g.bias"]


def init_head(g):
    return {
        "f.weight": ga.linear_init(g, DIN, DF, DIN), "f.bias": ga.linear_init(g, DIN, DF),
        "g.weight": ga.linear_init(g, DF, DG, DF), "g.bias": ga.linear_init(g, DF, DG),
    }


def forward(p, x):
    return F.linear(F.linear(x, p["f.weight"], p["f.bias"]), p["g.weight"], p["g.bias"])


def neighbour_gap(zbar, o):
    """Smallest relative gap between consecutive sorted distances up to the k-th neighbour."""
    zb = F.normalize(zbar, dim=1) if o["normalize"] else zbar
    sq = ga.sq_dists(zb)
    sq.fill_diagonal_(-1.0)
    s = torch.sort(sq, dim=1).values[:, 1:]
    k = min(o["k"], s.shape[1])
    return ((s[:, 1:k + 1] - s[:, :k]) / s[:, k:k + 1]).min().item()


def make_opt(params, c):
    if c["optimizer"] == "adamp":
        return ga.AdamP(params, lr=c["lr"], betas=tuple(c["betas"]), eps=c["eps"], weight_decay=c["weight_decay"],
                        delta=c["delta"], wd_ratio=c["wd_ratio"])
    if c["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"], weight_decay=c["weight_decay"])
    raise ValueError(c["optimizer"])


def run(c, init, batches, plan, dtype):
    """Trains from init on batches following plan (a list of epochs, each a list of batch indices).
    Returns per-step losses, medians and learning rates, the online and EMA weights, and the
    smallest neighbour gap and projection margin seen."""
    p = {k: v.to(dtype).clone().requires_grad_(True) for k, v in init.items()}
    ema = {k: v.to(dtype).clone() for k, v in init.items()}
    opt = make_opt([p[k] for k in NAMES], c)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=c["epochs"], eta_min=c["min_lr"])
    o = dict(sigma=c["sigma"], adaptive_sigma=c["adaptive_sigma"], k=c["k"], alpha=c["alpha"],
             margin=c["margin"], normalize=c["normalize_zbar"])
    losses, medians, lrs, gap = [], [], [], math.inf
    for epoch in plan:
        for b in epoch:
            x = batches[b].to(dtype)
            with torch.no_grad():
                zbar = forward(ema, x)
                gap = min(gap, neighbour_gap(zbar, o))
                w, _, _, med, _ = ga.soft_labels(zbar, o)
            loss = ga.relaxed_contrastive(forward(p, x), w, c["margin"])
            opt.zero_grad()
            loss.backward()
            for k in ("f.bias", "g.bias"):
                p[k].grad.zero_()  # exact: the loss is invariant to a common shift of z (see below)
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            with torch.no_grad():
                for k in NAMES:
                    ema[k].mul_(c["ema_decay"]).add_(p[k], alpha=1 - c["ema_decay"])
            losses.append(loss.item())
            medians.append(med.item())
        sched.step()
    margin = getattr(opt, "margin", math.inf)
    return losses, medians, lrs, {k: v.detach() for k, v in p.items()}, ema, gap, margin


def gen_case(fx, name, c, g, n, plan, level):
    redraws = 0
    while True:
        init = init_head(g)
        nb = 1 + max(max(e) for e in plan)
        batches = [ga.uniform(g, -1, 1, n, DIN) for _ in range(nb)]
        losses, medians, lrs, p, ema, gap, margin = run(c, init, batches, plan, torch.float64)
        # redraw when float32 rounding could swap a neighbour or flip a projection decision
        if gap > 1e-4 and margin > 1e-3:
            break
        redraws += 1
    l32, _, _, p32, _, _, _ = run(c, init, batches, plan, torch.float32)
    delta = lambda q: torch.cat([(q[k] - init[k]).reshape(-1) for k in NAMES])
    print("  %s: %s, %d redraws, neighbour gap %.1e, projection margin %.2g; torch float32 vs float64: "
          "loss %.1e, weight change %.1e" % (name, level, redraws, gap, margin,
                                              ga.rel(torch.tensor(l32), torch.tensor(losses)),
                                              ga.rel(delta(p32), delta(p))))
    tensors = {"losses": torch.tensor(losses), "medians": torch.tensor(medians), "lrs": torch.tensor(lrs)}
    for k in NAMES:
        tensors["init_" + k] = init[k]
        tensors["final_" + k] = p[k]
        tensors["ema_" + k] = ema[k]
    for i, b in enumerate(batches):
        tensors["batch%d" % i] = b
    fx.case(name, dict(c, plan=plan, level=level), **tensors)


def main():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(77)
    fx = ga.Fixture()
    base = dict(optimizer="adamp", lr=1e-2, weight_decay=0.5, betas=[0.9, 0.999], eps=1e-8, delta=0.1,
                wd_ratio=0.1, momentum=0.0, min_lr=0.0, ema_decay=0.9, sigma=1.0, adaptive_sigma=False,
                k=5, alpha=0.5, margin=1.0, normalize_zbar=False, epochs=3)
    gen_case(fx, "steps", dict(base), g, 32, [[0, 1], [2], [3]], "trainer")
    gen_case(fx, "loop_adamp", dict(base, normalize_zbar=True, ema_decay=0.8), g, 40, [[0], [0], [0]], "train")
    gen_case(fx, "loop_sgd", dict(base, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-2, min_lr=0.01,
                                  adaptive_sigma=True, sigma=0.5, k=4, alpha=0.3, margin=0.8),
             g, 40, [[0], [0], [0]], "train")
    fx.write("reconpatch/head/testdata/head.bin")


if __name__ == "__main__":
    main()
