#!/usr/bin/env python3
"""Times the PyTorch reference SPADEGenerator (model/testdata/parity/spade_ref.py)
on the CPU, for comparison with the Go implementation.

    /usr/bin/python3 scripts/torch_bench.py --ngf 64 --label-nc 151 --size 256 \
        --norm batch --nhidden 128 --no-vae            # ade20k-like
    /usr/bin/python3 scripts/torch_bench.py --ngf 16 --label-nc 12 --vae --encoder

--label-nc is the number of semantic input channels (classes, plus dontcare,
plus the instance edge channel if any): 151 = ADE20K's 150 classes + dontcare.
Eval mode, torch.no_grad(), 2 threads, batch 1, random (default-init) weights,
spectral norm as in eval (weight_orig / sigma from the stored u, v each call).
Prints one JSON line: torch_cold_ms (median over --iters of one full forward:
E then G with --encoder, else G alone), torch_peak_mb (peak RSS, ru_maxrss),
torch_version, threads, and the configuration.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "model", "testdata", "parity"))
import spade_ref as R  # noqa: E402

THREADS = 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--label-nc", type=int, default=151, help="semantic input channels")
    ap.add_argument("--size", type=int, default=256, help="output width (crop_size)")
    ap.add_argument("--aspect", type=float, default=1.0, help="width / height")
    ap.add_argument("--upsampling", default="normal", choices=("normal", "more", "most"))
    ap.add_argument("--norm", default="batch", choices=("batch", "instance"))
    ap.add_argument("--nhidden", type=int, default=128)
    ap.add_argument("--vae", dest="vae", action="store_true")
    ap.add_argument("--no-vae", dest="vae", action="store_false")
    ap.set_defaults(vae=False)
    ap.add_argument("--encoder", action="store_true", help="also run (and time) the encoder; implies --vae")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    if a.encoder:
        a.vae = True

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    netG = R.SPADEGenerator(a.ngf, a.label_nc, a.size, a.aspect, a.upsampling, a.norm,
                            a.nhidden, a.vae, 256).eval()
    netE = R.ConvEncoder(a.ngf).eval() if a.encoder else None
    sw, sh = R.latent_size(a.size, a.aspect, a.upsampling)
    n_up = {"normal": 5, "more": 6, "most": 7}[a.upsampling]
    H, W = sh << n_up, sw << n_up

    # blocky label map: 16x16-pixel cells with pseudo-random classes
    cells = torch.randint(0, a.label_nc, (1, 1, (H + 15) // 16, (W + 15) // 16))
    labels = cells.repeat_interleave(16, 2).repeat_interleave(16, 3)[:, :, :H, :W]
    seg = R.one_hot(labels, a.label_nc, False)
    style = torch.rand(1, 3, H, W) * 2 - 1
    z = torch.randn(1, 256)

    def forward():
        if netE is not None:
            mu, _ = netE(style)
            return netG(seg, mu)
        return netG(seg, z if a.vae else None)

    times = []
    with torch.no_grad():
        for _ in range(a.warmup):
            forward()
        for _ in range(a.iters):
            t0 = time.perf_counter()
            out = forward()
            times.append((time.perf_counter() - t0) * 1000)
    assert out.shape == (1, 3, H, W)
    print(json.dumps({
        "torch_cold_ms": round(statistics.median(times), 1),
        "torch_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch_version": torch.__version__,
        "threads": THREADS,
        "config": {"ngf": a.ngf, "semantic_nc": a.label_nc, "height": H, "width": W,
                   "upsampling": a.upsampling, "norm": a.norm, "nhidden": a.nhidden,
                   "vae": a.vae, "encoder": a.encoder, "iters": a.iters, "warmup": a.warmup},
        "times_ms": [round(t, 1) for t in times],
    }))


if __name__ == "__main__":
    main()
