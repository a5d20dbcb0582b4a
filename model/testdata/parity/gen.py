#!/usr/bin/env python3
"""Writes the SPADE parity fixtures next to this file (deterministic, seeded).

    /usr/bin/python3 model/testdata/parity/gen.py            # check + write all
    /usr/bin/python3 model/testdata/parity/gen.py --check    # key check only
    /usr/bin/python3 model/testdata/parity/gen.py c64_inst_vae d64

Needs torch + numpy (Debian python3-torch 1.13 was used). The Go tests only
read the files. First the reference networks are checked against the official
state_dict keys/shapes in shared/reference/official-spade-state-dict-keys.tsv
(path given by --tsv; skipped with a warning when the file is missing).

Per generator case <case>/: config.json, netG.pth [, netE.pth], labels.npy
[, instance.npy], and out.npy (no VAE) or z.npy, out_z.npy, style.npy, mu.npy,
logvar.npy, out_mu.npy (VAE). Case d64/: config.json, netD.pth, d_input.npy,
d_out_<scale>_<layer>.npy. All outputs are computed in eval mode, under
torch.no_grad(), in float32.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import spade_ref as R  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
DEFAULT_TSV = os.path.join(REPO, "..", "shared", "reference", "official-spade-state-dict-keys.tsv")

GEN_CASES = {
    "c256_batch_vae": dict(
        seed=1, ngf=2, label_nc=8, contain_dontcare=False, instance=False, crop=256,
        aspect_ratio=1.0, upsampling="normal", norm="batch", nhidden=16, use_vae=True,
        batch=1, g_format="zip", e_format="legacy", style=(256, 256)),
    "c64_inst_vae": dict(
        seed=2, ngf=4, label_nc=8, contain_dontcare=True, instance=False, crop=64,
        aspect_ratio=1.0, upsampling="normal", norm="instance", nhidden=16, use_vae=True,
        batch=2, g_format="legacy", e_format="zip", style=(64, 64)),
    # crop 128, not 64: with 'more' a 64 crop has a 1x1 latent grid, and
    # torch's instance norm refuses a single spatial element (ValueError,
    # train and eval alike), so the official network cannot run it.
    "c128_more_inst_novae": dict(
        seed=3, ngf=4, label_nc=8, contain_dontcare=True, instance=True, crop=128,
        aspect_ratio=1.0, upsampling="more", norm="instance", nhidden=16, use_vae=False,
        batch=1, g_format="zip", e_format=None, style=None),
    "c256x128_most_batch_novae": dict(
        seed=4, ngf=4, label_nc=6, contain_dontcare=True, instance=True, crop=256,
        aspect_ratio=2.0, upsampling="most", norm="batch", nhidden=16, use_vae=False,
        batch=1, g_format="legacy", e_format=None, style=None),
}
D_CASES = {
    "d64": dict(seed=5, ndf=4, label_nc=8, contain_dontcare=True, instance=False,
                num_D=2, n_layers_D=4, norm="instance", batch=2, size=64, format="zip"),
}
Z_DIM = 256
WARM_FORWARDS = 3   # train-mode forwards before saving (spectral-norm u/v, BN stats)
WARM_BATCH = 4
TARGET_PRE_TANH_STD = 0.65


# ----------------------------------------------------------------------------
# official key check

def check_official_keys(tsv):
    if not os.path.exists(tsv):
        print("WARNING: %s missing, key check skipped" % tsv)
        return
    want = {}
    for line in open(tsv):
        if line.startswith("#") or not line.strip():
            continue
        cfg, net, key, shape, dtype = line.rstrip("\n").split("\t")
        want.setdefault((cfg, net), []).append((key, shape, dtype))
    nets = {
        ("tiny_c256", "netG"): lambda: R.SPADEGenerator(4, 8, 256, 1.0, "normal", "batch", 128, True, 256),
        ("tiny_c256", "netE"): lambda: R.ConvEncoder(4, n_layers=6),
        ("tiny_c64_inst", "netG"): lambda: R.SPADEGenerator(4, 8, 64, 1.0, "normal", "instance", 128, True, 256),
    }
    if set(want) != set(nets):
        raise SystemExit("tsv lists %s, checker knows %s" % (sorted(want), sorted(nets)))
    for k, make in nets.items():
        got = [(n, str(tuple(t.shape)), str(t.dtype)) for n, t in make().state_dict().items()]
        if got != want[k]:
            for i, (a, b) in enumerate(zip(got + [None] * len(want[k]), want[k] + [None] * len(got))):
                if a != b:
                    raise SystemExit("%s %s: entry %d: reference %s, official %s" % (k + (i, a, b)))
        print("keys ok: %s %s (%d entries, same order, shapes, dtypes)" % (k + (len(got),)))


# ----------------------------------------------------------------------------
# inputs

def blob_regions(rng, n, h, w, n_regions):
    """Warped Voronoi regions: (n, h, w) region index in [0, n_regions)."""
    s = float(max(h, w))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) / s
    out = np.empty((n, h, w), np.int64)
    for i in range(n):
        cy = rng.rand(n_regions) * h / s
        cx = rng.rand(n_regions) * w / s
        p = rng.rand(4) * 2 * np.pi
        yw = yy + 0.04 * np.sin(2 * np.pi * 3 * xx + p[0]) + 0.02 * np.sin(2 * np.pi * 7 * yy + p[1])
        xw = xx + 0.04 * np.sin(2 * np.pi * 2 * yy + p[2]) + 0.02 * np.sin(2 * np.pi * 5 * xx + p[3])
        d = (yw[..., None] - cy) ** 2 + (xw[..., None] - cx) ** 2
        out[i] = d.argmin(-1)
    return out


def make_labels(rng, n, h, w, label_nc, contain_dontcare, instance):
    """labels (n,1,h,w) int64 with every class id present (dontcare = label_nc
    too); instance (n,1,h,w) int64 or None: 'thing' classes (id < label_nc/2)
    get one id per region (class*1000+region), 'stuff' and dontcare get 0, so
    some label borders have no instance edge and two touching regions of one
    thing class do."""
    ids = list(range(label_nc)) + ([label_nc] if contain_dontcare else [])
    n_regions = len(ids) + 6
    reg = blob_regions(rng, n, h, w, n_regions)
    labels = np.empty((n, 1, h, w), np.int64)
    inst = np.empty((n, 1, h, w), np.int64) if instance else None
    for i in range(n):
        cls = np.concatenate([rng.permutation(ids), rng.choice(ids[:max(1, label_nc // 2)], n_regions - len(ids))])
        labels[i, 0] = cls[reg[i]]
        if instance:
            rid = np.where(cls < label_nc / 2, cls * 1000 + np.arange(n_regions) + 1, 0)
            inst[i, 0] = rid[reg[i]]
    return labels, inst


def make_image(rng, n, h, w):
    """Smooth image-like float32 (n,3,h,w) in [-1,1]."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    yy, xx = yy / h, xx / w
    img = np.empty((n, 3, h, w), np.float32)
    for i in range(n):
        for c in range(3):
            f = rng.uniform(0.5, 3.0, 4)
            p = rng.uniform(0, 2 * np.pi, 3)
            v = 0.55 * np.sin(2 * np.pi * (f[0] * xx + f[1] * yy) + p[0]) \
                + 0.35 * np.cos(2 * np.pi * (f[2] * xx - f[3] * yy) + p[1]) \
                + 0.15 * np.sin(2 * np.pi * 9 * xx * yy + p[2])
            img[i, c] = np.clip(v, -1, 1)
    return img


# ----------------------------------------------------------------------------
# weights

def init_weights(net, g):
    """Fan-in scaled normal weights, small random biases. The one-hot-fed
    mlp_shared / fc convs see at most one non-zero per tap, so they get a
    larger scale; mlp_gamma / mlp_beta get a smaller one (|gamma| ~ 0.3)."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf in ("weight", "weight_orig") and p.dim() >= 2:
                fan_in = p[0].numel()
                std = 1.0 / np.sqrt(fan_in)
                if "mlp_shared" in name or (name.startswith("fc.") and p.dim() == 4):
                    std = 1.0 / np.sqrt(p.shape[2] * p.shape[3])
                elif "mlp_gamma" in name or "mlp_beta" in name:
                    std = 0.5 / np.sqrt(fan_in)
                p.copy_(torch.randn(p.shape, generator=g) * std)
            elif leaf == "bias":
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            else:
                raise SystemExit("unexpected parameter %s" % name)


def bn_layers(net):
    return [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]


def warm_up(net, run, g):
    """WARM_FORWARDS train-mode forwards: spectral-norm u/v get that many power
    iterations (not converged, so the stored u/v matter), batch norms collect
    cumulative statistics; those are then perturbed randomly
    (mean += N(0, 0.2 sd), var *= U(0.5, 2))."""
    bns = bn_layers(net)
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    with torch.no_grad():
        for _ in range(WARM_FORWARDS):
            run()
        for m in bns:
            sd = m.running_var.sqrt()
            m.running_mean.add_(torch.randn(m.running_mean.shape, generator=g) * 0.2 * sd)
            m.running_var.mul_(torch.rand(m.running_var.shape, generator=g) * 1.5 + 0.5)
            m.momentum = 0.1
    net.eval()


def save(sd, path, fmt):
    if fmt == "zip":
        torch.save(sd, path)
    elif fmt == "legacy":
        torch.save(sd, path, _use_new_zipfile_serialization=False)
    else:
        raise ValueError(fmt)


def npy(path, a):
    a = np.ascontiguousarray(a)
    assert a.dtype in (np.float32, np.int64), a.dtype
    np.save(path, a)


def block_stats(net, run):
    """std of each residual block's output (eval) to show nothing vanishes."""
    stats, hooks = [], []
    for name, m in net.named_children():
        if isinstance(m, R.SPADEResnetBlock):
            hooks.append(m.register_forward_hook(
                lambda mod, i, o, name=name: stats.append("%s %.2f" % (name, o.std().item()))))
    with torch.no_grad():
        run()
    for h in hooks:
        h.remove()
    return ", ".join(stats)


def calibrate_conv_img(net, run):
    """Scale conv_img so the pre-tanh output has std TARGET_PRE_TANH_STD."""
    box = []
    h = net.conv_img.register_forward_hook(lambda m, i, o: box.append(o.std().item()))
    with torch.no_grad():
        run()
    h.remove()
    s = TARGET_PRE_TANH_STD / float(np.mean(box))
    with torch.no_grad():
        net.conv_img.weight.mul_(s)
        net.conv_img.bias.mul_(s)


def check_output(name, out):
    std = float(out.std())
    sat = float((np.abs(out) > 0.99).mean())
    print("  %s: shape %s std %.3f saturated %.4f" % (name, out.shape, std, sat))
    if not (0.3 <= std <= 0.7) or sat > 0.02:
        raise SystemExit("%s: output std %.3f / saturation %.3f out of range" % (name, std, sat))


# ----------------------------------------------------------------------------
# cases

def gen_case(name, c):
    out_dir = os.path.join(HERE, name)
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        os.remove(os.path.join(out_dir, f))
    torch.manual_seed(c["seed"])
    g = torch.Generator().manual_seed(c["seed"])
    rng = np.random.RandomState(c["seed"])

    snc = R.semantic_nc(c["label_nc"], c["contain_dontcare"], c["instance"])
    sw, sh = R.latent_size(c["crop"], c["aspect_ratio"], c["upsampling"])
    n_up = {"normal": 5, "more": 6, "most": 7}[c["upsampling"]]
    H, W = sh << n_up, sw << n_up
    N = c["batch"]
    cfg = {
        "ngf": c["ngf"], "label_nc": c["label_nc"], "contain_dontcare": c["contain_dontcare"],
        "instance": c["instance"], "semantic_nc": snc, "crop": c["crop"],
        "aspect_ratio": c["aspect_ratio"], "upsampling": c["upsampling"], "norm": c["norm"],
        "nhidden": c["nhidden"], "use_vae": c["use_vae"], "z_dim": Z_DIM if c["use_vae"] else None,
        "batch": N, "height": H, "width": W, "g_format": c["g_format"], "e_format": c["e_format"],
    }
    if c["use_vae"]:
        cfg["encoder_layers"] = 6
        cfg["style_height"], cfg["style_width"] = c["style"]

    labels, inst = make_labels(rng, N, H, W, c["label_nc"], c["contain_dontcare"], c["instance"])
    sem = R.preprocess(torch.from_numpy(labels), c["label_nc"], c["contain_dontcare"],
                       torch.from_numpy(inst) if inst is not None else None)
    assert sem.shape == (N, snc, H, W)

    netG = R.SPADEGenerator(c["ngf"], snc, c["crop"], c["aspect_ratio"], c["upsampling"],
                            c["norm"], c["nhidden"], c["use_vae"], Z_DIM)
    init_weights(netG, g)
    # train-mode inputs: other label maps / codes of the same kind, in a
    # batch of WARM_BATCH so the batch-norm statistics are representative
    WN = WARM_BATCH
    wl, wi = make_labels(rng, WN, H, W, c["label_nc"], c["contain_dontcare"], c["instance"])
    wsem = R.preprocess(torch.from_numpy(wl), c["label_nc"], c["contain_dontcare"],
                        torch.from_numpy(wi) if wi is not None else None)

    if c["use_vae"]:
        netE = R.ConvEncoder(c["ngf"], n_layers=6)
        init_weights(netE, g)
        sh_, sw_ = c["style"]
        style = make_image(rng, N, sh_, sw_)
        wstyle = torch.from_numpy(make_image(rng, WN, sh_, sw_))
        warm_up(netE, lambda: netE(wstyle), g)
        z = torch.randn(N, Z_DIM, generator=g)
        warm_up(netG, lambda: netG(wsem, torch.randn(WN, Z_DIM, generator=g)), g)
        with torch.no_grad():
            mu, logvar = netE(torch.from_numpy(style))
        run = lambda: (netG(sem, z), netG(sem, mu))
    else:
        warm_up(netG, lambda: netG(wsem), g)
        run = lambda: netG(sem)
    calibrate_conv_img(netG, run)
    print("%s: semantic_nc %d, output %dx%d, latent %dx%d; block std: %s"
          % (name, snc, H, W, sh, sw, block_stats(netG, run)))

    netG.eval()
    with torch.no_grad():
        if c["use_vae"]:
            netE.eval()
            mu, logvar = netE(torch.from_numpy(style))
            out_z = netG(sem, z).numpy()
            out_mu = netG(sem, mu).numpy()
            check_output("out_z", out_z)
            check_output("out_mu", out_mu)
            print("  mu std %.3f logvar std %.3f" % (mu.std(), logvar.std()))
        else:
            out = netG(sem).numpy()
            check_output("out", out)

    save(netG.state_dict(), os.path.join(out_dir, "netG.pth"), c["g_format"])
    npy(os.path.join(out_dir, "labels.npy"), labels)
    if inst is not None:
        npy(os.path.join(out_dir, "instance.npy"), inst)
    if c["use_vae"]:
        save(netE.state_dict(), os.path.join(out_dir, "netE.pth"), c["e_format"])
        npy(os.path.join(out_dir, "z.npy"), z.numpy())
        npy(os.path.join(out_dir, "out_z.npy"), out_z)
        npy(os.path.join(out_dir, "style.npy"), style)
        npy(os.path.join(out_dir, "mu.npy"), mu.numpy())
        npy(os.path.join(out_dir, "logvar.npy"), logvar.numpy())
        npy(os.path.join(out_dir, "out_mu.npy"), out_mu)
    else:
        npy(os.path.join(out_dir, "out.npy"), out)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")


def gen_d_case(name, c):
    out_dir = os.path.join(HERE, name)
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        os.remove(os.path.join(out_dir, f))
    torch.manual_seed(c["seed"])
    g = torch.Generator().manual_seed(c["seed"])
    rng = np.random.RandomState(c["seed"])
    N, S = c["batch"], c["size"]
    snc = R.semantic_nc(c["label_nc"], c["contain_dontcare"], c["instance"])
    input_nc = snc + 3

    def make_input():
        lab, _ = make_labels(rng, N, S, S, c["label_nc"], c["contain_dontcare"], False)
        sem = R.one_hot(torch.from_numpy(lab), c["label_nc"], c["contain_dontcare"])
        return torch.cat([sem, torch.from_numpy(make_image(rng, N, S, S))], 1)

    x = make_input()
    netD = R.MultiscaleDiscriminator(input_nc, c["ndf"], c["n_layers_D"], c["num_D"],
                                     "spectral" + c["norm"])
    init_weights(netD, g)
    wx = make_input()
    warm_up(netD, lambda: netD(wx), g)
    netD.eval()
    with torch.no_grad():
        res = netD(x)
    save(netD.state_dict(), os.path.join(out_dir, "netD.pth"), c["format"])
    npy(os.path.join(out_dir, "d_input.npy"), x.numpy())
    shapes = []
    for s, feats in enumerate(res):
        for l, t in enumerate(feats):
            npy(os.path.join(out_dir, "d_out_%d_%d.npy" % (s, l)), t.numpy())
            shapes.append("%d_%d %s std %.2f" % (s, l, tuple(t.shape), t.std()))
    print("%s: %s" % (name, "; ".join(shapes)))
    cfg = {"ndf": c["ndf"], "input_nc": input_nc, "num_D": c["num_D"], "n_layers_D": c["n_layers_D"],
           "norm": c["norm"], "batch": N, "height": S, "width": S, "label_nc": c["label_nc"],
           "contain_dontcare": c["contain_dontcare"], "format": c["format"]}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", help="cases to write (default: all)")
    ap.add_argument("--check", action="store_true", help="only run the official key check")
    ap.add_argument("--tsv", default=DEFAULT_TSV)
    a = ap.parse_args()
    torch.set_num_threads(1)  # bit-stable results
    check_official_keys(a.tsv)
    if a.check:
        return
    names = a.cases or list(GEN_CASES) + list(D_CASES)
    for n in names:
        if n in GEN_CASES:
            gen_case(n, GEN_CASES[n])
        elif n in D_CASES:
            gen_d_case(n, D_CASES[n])
        else:
            raise SystemExit("unknown case %s" % n)


if __name__ == "__main__":
    main()
