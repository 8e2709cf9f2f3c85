#!/usr/bin/python3
"""PyTorch references for packages autograd, nn/optim and reconpatch/loss.

Run from the repository root with Debian's interpreter (torch 1.13):

    /usr/bin/python3 scripts/gen_autograd_fixtures.py           # write fixtures
    /usr/bin/python3 scripts/gen_autograd_fixtures.py --bench   # time one ReConPatch step

Fixtures (seeded: a rerun writes the same files):

  autograd/testdata/nets.bin         forward, loss and every parameter (and input) gradient of a
                                     small MLP (Linear, BatchNorm1d, ReLU, Linear, cross-entropy) and a
                                     small conv net (Conv2d, BatchNorm2d, ReLU, strided grouped Conv2d,
                                     ReLU, spatial mean, Linear, cross-entropy), batch norm in training
                                     mode, with the running statistics after the step
  nn/optim/testdata/trajectories.bin 30 steps of AdamP (an implementation of clovaai/AdamP's rule,
                                     below), AdamP-Nesterov, Adam, AdamW and SGD-Nesterov with
                                     CosineAnnealingLR stepped per iteration, on an MLP whose first
                                     weight is channel-wise scale-invariant (BatchNorm after it) and
                                     whose second is layer-wise scale-invariant (rows L2-normalised
                                     after it), so both projections of AdamP fire
  reconpatch/loss/testdata/loss.bin  ReConPatch soft labels (pairwise, contextual, combined), the
                                     median squared distance, the relaxed contrastive loss and its
                                     gradient, for three option sets

Inputs and initial parameters are float32. Every reference is computed in float64 from them (so it
carries no float32 rounding of its own) and stored as float32; the script prints, for comparison,
how far torch's own float32 computation is from that float64 reference.

File format (integers little-endian), read by autograd/autogradtest.ParseFixture:

    magic   8 bytes  b"RPAGFIX1"
    u32     length of the JSON that follows
    JSON    {"cases": [{"name": str, "cfg": {...}}, ...]}
    u32     number of tensors
    per tensor:
        u16 name length, name (UTF-8, "<case name>/<role>")
        u8  ndim, ndim x u32 dims
        float32 data, row-major
"""

import argparse
import json
import math
import os
import statistics
import struct
import time

import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MAGIC = b"RPAGFIX1"


class Fixture:
    def __init__(self):
        self.cases = []
        self.tensors = []

    def case(self, name, cfg, **tensors):
        assert all(c["name"] != name for c in self.cases), name
        self.cases.append({"name": name, "cfg": cfg})
        for role, t in tensors.items():
            self.tensors.append((name + "/" + role, torch.as_tensor(t)))

    def write(self, path):
        meta = json.dumps({"cases": self.cases}, sort_keys=True).encode()
        out = bytearray(MAGIC)
        out += struct.pack("<I", len(meta)) + meta
        out += struct.pack("<I", len(self.tensors))
        for name, t in self.tensors:
            t = t.detach().to(torch.float32).contiguous()
            nb = name.encode()
            out += struct.pack("<H", len(nb)) + nb
            out += struct.pack("<B", t.dim())
            out += struct.pack("<%dI" % t.dim(), *t.shape)
            out += t.numpy().astype("<f4").tobytes()
        path = os.path.join(ROOT, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(out)
        print("wrote %s (%d bytes, %d tensors)" % (os.path.relpath(path, ROOT), len(out), len(self.tensors)))


def uniform(g, lo, hi, *shape):
    """float32 values drawn from U(lo, hi), then widened to float64 exactly."""
    return (torch.rand(*shape, generator=g, dtype=torch.float32) * (hi - lo) + lo).to(torch.float64)


def linear_init(g, fan_in, *shape):
    b = 1 / math.sqrt(fan_in)
    return uniform(g, -b, b, *shape)


def rel(a, b):
    a, b = a.to(torch.float64), b.to(torch.float64)
    return ((a - b).norm() / b.norm()).item() if b.norm() > 0 else (a - b).norm().item()


def batch_norm_train(x, gamma, beta, rm, rv):
    # rm, rv are updated in place (momentum 0.1, unbiased variance), as torch.
    return F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5)


# ---------------------------------------------------------------- networks

def mlp_forward(p, x, labels, rm, rv):
    h = F.linear(x, p["w1"])  # no bias before a batch norm: its gradient is 0
    h = batch_norm_train(h, p["g1"], p["be1"], rm, rv)
    logits = F.linear(F.relu(h), p["w2"], p["b2"])
    return logits, F.cross_entropy(logits, labels)


def conv_forward(p, x, labels, rm, rv):
    h = F.conv2d(x, p["c1w"], None, padding=1)
    h = F.relu(batch_norm_train(h, p["g1"], p["be1"], rm, rv))
    h = F.relu(F.conv2d(h, p["c2w"], p["c2b"], stride=2, padding=1, groups=2))
    logits = F.linear(h.mean(dim=(2, 3)), p["fw"], p["fb"])
    return logits, F.cross_entropy(logits, labels)


def run_net(name, fx, forward, params, x, labels, c):
    """Gradients in float64 (stored) and float32 (for the printed comparison)."""
    results = {}
    for dtype in (torch.float64, torch.float32):
        p = {k: v.to(dtype).clone().requires_grad_(True) for k, v in params.items()}
        xx = x.to(dtype).clone().requires_grad_(True)
        rm, rv = torch.zeros(c, dtype=dtype), torch.ones(c, dtype=dtype)
        logits, loss = forward(p, xx, labels, rm, rv)
        loss.backward()
        results[dtype] = (logits, loss, {k: v.grad for k, v in p.items()}, xx.grad, rm, rv)
    logits, loss, grads, gx, rm, rv = results[torch.float64]
    l32, _, g32, gx32, _, _ = results[torch.float32]
    worst = max([rel(l32, logits), rel(gx32, gx)] + [rel(g32[k], grads[k]) for k in grads])
    print("  %s: torch float32 vs float64, worst relative L2 error %.1e" % (name, worst))
    tensors = {"x": x, "logits": logits, "loss": loss.reshape(1), "grad_x": gx, "running_mean": rm, "running_var": rv}
    for k, v in params.items():
        tensors["param_" + k] = v
        tensors["grad_" + k] = grads[k]
    fx.case(name, {"labels": labels.tolist(), "params": sorted(params)}, **tensors)


def gen_nets():
    g = torch.Generator().manual_seed(11)
    fx = Fixture()
    n, din, hid, k = 16, 13, 24, 10
    params = {
        "w1": linear_init(g, din, hid, din),
        "g1": uniform(g, 0.5, 1.5, hid), "be1": uniform(g, -0.5, 0.5, hid),
        "w2": linear_init(g, hid, k, hid), "b2": linear_init(g, hid, k),
    }
    x = uniform(g, -1, 1, n, din)
    labels = torch.randint(0, k, (n,), generator=g)
    run_net("mlp", fx, mlp_forward, params, x, labels, hid)

    params = {
        "c1w": linear_init(g, 27, 6, 3, 3, 3),
        "g1": uniform(g, 0.5, 1.5, 6), "be1": uniform(g, -0.5, 0.5, 6),
        "c2w": linear_init(g, 27, 8, 3, 3, 3), "c2b": linear_init(g, 27, 8),
        "fw": linear_init(g, 8, 5, 8), "fb": linear_init(g, 8, 5),
    }
    x = uniform(g, -1, 1, 4, 3, 9, 11)
    labels = torch.randint(0, 5, (4,), generator=g)
    run_net("conv", fx, conv_forward, params, x, labels, 6)
    fx.write("autograd/testdata/nets.bin")


# ---------------------------------------------------------------- optimisers

class AdamP(torch.optim.Optimizer):
    """The AdamP rule of clovaai/AdamP (section 7 of the specification), written out here."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 delta=0.1, wd_ratio=0.1, nesterov=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      delta=delta, wd_ratio=wd_ratio, nesterov=nesterov))
        self.projections = {}

    @staticmethod
    def _cos(x, y, eps):
        # F.cosine_similarity over rows: x.y / (max(|x|, eps) * max(|y|, eps))
        return F.cosine_similarity(x, y, dim=1, eps=eps).abs()

    def _project(self, p, grad, u, delta, wd_ratio, eps):
        for view_idx, view in enumerate((lambda t: t.reshape(t.shape[0], -1), lambda t: t.reshape(1, -1))):
            w, gv = view(p), view(grad)
            ratio = (self._cos(gv, w, eps).max() / (delta / math.sqrt(w.shape[1]))).item()
            self.margin = min(getattr(self, "margin", math.inf), abs(math.log(ratio)) if ratio > 0 else math.inf)
            if ratio < 1:
                w_hat = w / (w.norm(dim=1, keepdim=True) + eps)
                uv = view(u)
                uv = uv - w_hat * (w_hat * uv).sum(dim=1, keepdim=True)
                return uv.reshape(p.shape), wd_ratio, view_idx
        return u, 1.0, None

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                st = self.state[p]
                if not st:
                    st["step"], st["m"], st["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                st["step"] += 1
                t = st["step"]
                st["m"].mul_(b1).add_(g, alpha=1 - b1)
                st["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = st["v"].sqrt() / math.sqrt(1 - b2 ** t) + group["eps"]
                step_size = group["lr"] / (1 - b1 ** t)
                if group["nesterov"]:
                    u = (b1 * st["m"] + (1 - b1) * g) / denom
                else:
                    u = st["m"] / denom
                factor = 1.0
                if p.dim() > 1:
                    u, factor, which = self._project(p, g, u, group["delta"], group["wd_ratio"], group["eps"])
                    if which is not None:
                        counts = self.projections.setdefault(id(p), [0, 0])
                        counts[which] += 1
                if group["weight_decay"] > 0:
                    p.mul_(1 - group["lr"] * group["weight_decay"] * factor)
                p.add_(u, alpha=-step_size)


OPT_PARAMS = ["w1", "g1", "be1", "w2", "w3", "b3"]


def traj_forward(p, x, labels):
    h = F.linear(x, p["w1"])  # scale-invariant per row: a batch norm follows
    h = F.batch_norm(h, None, None, p["g1"], p["be1"], training=True, eps=1e-5)
    h = F.linear(F.relu(h), p["w2"])  # no bias: scale-invariant as a whole layer ...
    h = F.normalize(h, dim=1)         # ... because of this per-sample L2 normalisation
    return F.cross_entropy(F.linear(h, p["w3"], p["b3"]), labels)


def run_trajectory(name, fx, make_opt, cfg, params, x, labels, steps, keep):
    out = {}
    for dtype in (torch.float64, torch.float32):
        p = {k: params[k].to(dtype).clone().requires_grad_(True) for k in OPT_PARAMS}
        opt = make_opt([p[k] for k in OPT_PARAMS])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg["t_max"], eta_min=cfg["eta_min"])
        losses, lrs, snaps = [], [], {}
        for step in range(1, steps + 1):
            opt.zero_grad()
            loss = traj_forward(p, x.to(dtype), labels)
            loss.backward()
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step in keep:
                snaps[step] = {k: v.detach().clone() for k, v in p.items()}
        proj = [getattr(opt, "projections", {}).get(id(p[k]), [0, 0]) for k in OPT_PARAMS]
        if dtype == torch.float64 and hasattr(opt, "margin"):
            # |log(|cos| / threshold)| of the closest projection decision: far from 0 means
            # float32 rounding cannot flip a decision
            print("  %s: closest projection decision at |log(cos/threshold)| = %.2g" % (name, opt.margin))
        out[dtype] = (losses, lrs, snaps, proj)
    losses, lrs, snaps, proj = out[torch.float64]
    snaps32, proj32 = out[torch.float32][2], out[torch.float32][3]
    worst = max(rel(snaps32[s][k], snaps[s][k]) for s in keep for k in OPT_PARAMS)
    print("  %s: torch float32 vs float64 trajectory, worst relative L2 error %.1e; projections %s%s" % (
        name, worst, proj, "" if proj == proj32 else " (float32 differs: %s)" % proj32))
    tensors = {"losses": torch.tensor(losses), "lrs": torch.tensor(lrs)}
    for s in keep:
        for k in OPT_PARAMS:
            tensors["step%d_%s" % (s, k)] = snaps[s][k]
    cfg = dict(cfg, steps=steps, keep=keep, params=OPT_PARAMS, projections=proj)
    fx.case(name, cfg, **tensors)


def gen_trajectories():
    g = torch.Generator().manual_seed(23)
    fx = Fixture()
    n, din, hid, emb, k = 32, 12, 16, 8, 4
    params = {
        "w1": linear_init(g, din, hid, din),
        "g1": uniform(g, 0.5, 1.5, hid), "be1": uniform(g, -0.5, 0.5, hid),
        "w2": linear_init(g, hid, emb, hid),
        "w3": linear_init(g, emb, k, emb), "b3": linear_init(g, emb, k),
    }
    x = uniform(g, -1, 1, n, din)
    labels = torch.randint(0, k, (n,), generator=g)
    init = {"init_" + k: v for k, v in params.items()}
    fx.case("data", {"labels": labels.tolist()}, x=x, **init)
    steps, keep = 30, [1, 2, 5, 10, 20, 30]
    runs = [
        ("adamp", dict(opt="adamp", lr=1e-2, betas=[0.9, 0.999], eps=1e-8, weight_decay=1e-2, delta=0.1,
                       wd_ratio=0.1, nesterov=False, t_max=30, eta_min=1e-3)),
        ("adamp_nesterov", dict(opt="adamp", lr=1e-2, betas=[0.8, 0.99], eps=1e-8, weight_decay=5e-2, delta=0.1,
                                wd_ratio=0.2, nesterov=True, t_max=10, eta_min=0.0)),
        ("adam", dict(opt="adam", lr=1e-2, betas=[0.9, 0.999], eps=1e-8, weight_decay=1e-3, t_max=30, eta_min=1e-3)),
        ("adamw", dict(opt="adamw", lr=1e-2, betas=[0.9, 0.999], eps=1e-8, weight_decay=1e-1, t_max=30, eta_min=0.0)),
        ("sgd_nesterov", dict(opt="sgd", lr=0.1, momentum=0.9, dampening=0.0, weight_decay=1e-3, nesterov=True,
                              t_max=30, eta_min=1e-2)),
    ]
    for name, cfg in runs:
        def make(ps, cfg=cfg):
            if cfg["opt"] == "adamp":
                return AdamP(ps, lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"], weight_decay=cfg["weight_decay"],
                             delta=cfg["delta"], wd_ratio=cfg["wd_ratio"], nesterov=cfg["nesterov"])
            if cfg["opt"] == "adam":
                return torch.optim.Adam(ps, lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"], weight_decay=cfg["weight_decay"])
            if cfg["opt"] == "adamw":
                return torch.optim.AdamW(ps, lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"], weight_decay=cfg["weight_decay"])
            return torch.optim.SGD(ps, lr=cfg["lr"], momentum=cfg["momentum"], dampening=cfg["dampening"],
                                   weight_decay=cfg["weight_decay"], nesterov=cfg["nesterov"])
        run_trajectory(name, fx, make, cfg, params, x, labels, steps, keep)
    fx.write("nn/optim/testdata/trajectories.bin")


# ---------------------------------------------------------------- ReConPatch loss

def sq_dists(z):
    return ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)


def neighbours(sq, k):
    """Exact top-k per row: i first, then by distance, ties to the lower index (stable sort)."""
    d = sq.clone()
    d.fill_diagonal_(-1.0)
    return torch.sort(d, dim=1, stable=True).indices[:, :k]


def contextual(sq, k):
    """Section 6.2, dense: w~ = |N(i) & N(j)|/k on j in N(i); reciprocal half-set expansion; symmetrise."""
    n = sq.shape[0]
    k = min(k, n)
    h = max(1, k // 2)
    nb = neighbours(sq, k)
    member = torch.zeros(n, n, dtype=sq.dtype)
    member.scatter_(1, nb, 1.0)                     # member[i, j] = 1 if j in N_k(i)
    wt = (member @ member.T) / k * member           # |N(i) & N(j)| / k, masked to j in N(i)
    half = torch.zeros(n, n, dtype=sq.dtype)
    half.scatter_(1, nb[:, :h], 1.0)
    recip = half * half.T                           # l in R(i): l in N_h(i) and i in N_h(l)
    what = (recip @ wt) / recip.sum(1, keepdim=True)
    return 0.5 * (what + what.T)


def soft_labels(zbar, o):
    if o["normalize"]:
        zbar = F.normalize(zbar, dim=1, eps=1e-12)
    sq = sq_dists(zbar)
    n = sq.shape[0]
    iu = torch.triu_indices(n, n, 1)
    med = sq[iu[0], iu[1]].median()  # lower median, as the Go code
    sigma = o["sigma"] * (med.item() if o["adaptive_sigma"] else 1.0)
    wpair = torch.exp(-sq / sigma)
    wctx = contextual(sq, o["k"])
    return o["alpha"] * wpair + (1 - o["alpha"]) * wctx, wpair, wctx, med, sq


def relaxed_contrastive(z, w, m):
    n = z.shape[0]
    sq = sq_dists(z)
    pos = sq > 0
    d = torch.where(pos, sq, torch.ones_like(sq)).sqrt() * pos  # exact 0 on the diagonal, no 0/0 in the gradient
    delta = d / d.mean(dim=1, keepdim=True)
    return (w * delta ** 2 + (1 - w) * (m - delta).clamp_min(0) ** 2).sum() / n


def gen_loss():
    g = torch.Generator().manual_seed(5)
    fx = Fixture()
    cases = [
        ("default", 48, 16, dict(sigma=1.0, adaptive_sigma=False, k=5, alpha=0.5, margin=1.0, normalize=False)),
        ("normalized", 40, 12, dict(sigma=1.0, adaptive_sigma=False, k=4, alpha=0.3, margin=0.8, normalize=True)),
        ("adaptive_k7", 37, 9, dict(sigma=0.5, adaptive_sigma=True, k=7, alpha=0.6, margin=1.2, normalize=False)),
    ]
    for name, n, dim, o in cases:
        while True:
            z = uniform(g, -0.3, 0.3, n, dim)
            zbar = (z + uniform(g, -0.05, 0.05, n, dim)).to(torch.float32).to(torch.float64)
            zb = F.normalize(zbar, dim=1) if o["normalize"] else zbar
            sq = sq_dists(zb)
            sq.fill_diagonal_(-1.0)
            s = torch.sort(sq, dim=1).values[:, 1:]  # distances to the other points, ascending
            # keep the neighbour sets well separated, so that float32 rounding cannot swap them
            gaps = (s[:, 1:o["k"] + 1] - s[:, :o["k"]]).min()
            if gaps > 1e-4:
                break
        w, wpair, wctx, med, _ = soft_labels(zbar, o)
        zz = z.clone().requires_grad_(True)
        loss = relaxed_contrastive(zz, w, o["margin"])
        loss.backward()
        z32 = z.to(torch.float32).requires_grad_(True)
        l32 = relaxed_contrastive(z32, w.to(torch.float32), o["margin"])
        l32.backward()
        print("  loss %s: torch float32 vs float64: loss %.1e, gradient %.1e" % (
            name, rel(l32.detach(), loss.detach()), rel(z32.grad, zz.grad)))
        fx.case(name, o, z=z, zbar=zbar, w=w, wpair=wpair, wctx=wctx, median=med.reshape(1),
                loss=loss.detach().reshape(1), grad_z=zz.grad)
    fx.write("reconpatch/loss/testdata/loss.bin")


# ---------------------------------------------------------------- benchmark

def bench(threads, runs, n=512, din=1024, dmid=512, dout=128):
    """One ReConPatch training step in PyTorch, the same work as BenchmarkReConPatchStep."""
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(1)
    p = torch.randn(n, din, generator=g)
    f = torch.nn.Linear(din, dmid)
    gg = torch.nn.Linear(dmid, dout)
    fbar = torch.nn.Linear(din, dmid)
    gbar = torch.nn.Linear(dmid, dout)
    fbar.load_state_dict(f.state_dict())
    gbar.load_state_dict(gg.state_dict())
    params = list(f.parameters()) + list(gg.parameters())
    ema_params = list(fbar.parameters()) + list(gbar.parameters())
    opt = AdamP(params, lr=1e-5, weight_decay=1e-2)
    o = dict(sigma=1.0, adaptive_sigma=False, k=5, alpha=0.5, margin=1.0, normalize=True)

    upper = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    h = max(1, o["k"] // 2)

    def fast_soft_labels(zbar):
        # What one would write in PyTorch for speed: cdist, topk, dense 0/1 matrices and matmuls
        # (the fixtures above use the plainer float64 code).
        zbar = F.normalize(zbar, dim=1)
        sq = torch.cdist(zbar, zbar).pow_(2)
        med = sq[upper].median()  # the diagnostic the Go step computes too
        wpair = torch.exp(-sq / o["sigma"])
        d = sq.clone()
        d.fill_diagonal_(-1.0)
        nb = torch.topk(d, o["k"], dim=1, largest=False).indices
        member = torch.zeros(n, n).scatter_(1, nb, 1.0)
        wt = (member @ member.T) / o["k"] * member
        half = torch.zeros(n, n).scatter_(1, nb[:, :h], 1.0)
        recip = half * half.T
        what = (recip @ wt) / recip.sum(1, keepdim=True)
        return o["alpha"] * wpair + (1 - o["alpha"]) * 0.5 * (what + what.T), med

    def step():
        with torch.no_grad():
            zbar = gbar(fbar(p))
            w, _ = fast_soft_labels(zbar)
        z = gg(f(p))
        d = torch.cdist(z, z)  # torch's own pairwise distance
        delta = d / d.mean(dim=1, keepdim=True)
        loss = (w * delta ** 2 + (1 - w) * (o["margin"] - delta).clamp_min(0) ** 2).sum() / n
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for e, q in zip(ema_params, params):
                e.mul_(0.99).add_(q, alpha=0.01)

    for _ in range(3):
        step()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({
        "what": "reconpatch step N=%d %d-%d-%d (EMA forward, soft labels, loss, backward, AdamP, EMA update)" % (n, din, dmid, dout),
        "threads": threads, "median_ms": statistics.median(times) * 1e3, "best_ms": min(times) * 1e3, "runs": runs,
        "impl": "torch %s" % torch.__version__,
    }))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", action="store_true", help="time one ReConPatch training step instead")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    if a.bench:
        bench(a.threads, a.runs)
        return
    torch.set_num_threads(1)
    gen_nets()
    gen_trajectories()
    gen_loss()


if __name__ == "__main__":
    main()
