#!/usr/bin/env python3
"""Summarise a training run's log.jsonl into a small CSV: the mean of each
loss over bins of --bin steps, the learning rates and seconds per step at the
bin's end. Used for docs/default-model/losses.csv (`make default-model`).

    python3 scripts/summarise_log.py runs/default/log.jsonl --bin 500 > docs/default-model/losses.csv
    cat LEG1/log.jsonl LEG2/log.jsonl | python3 scripts/summarise_log.py --concat - > losses.csv
"""
import argparse
import json
import sys

KEYS = ["G_GAN", "G_GAN_Feat", "G_KLD", "D_Fake", "D_real", "sec"]
OPTIONAL = ["G_VGG", "G_Colour"]  # columns only for runs that log them


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--bin", type=int, default=500)
    ap.add_argument("--concat", action="store_true",
                    help="the log is several runs' logs in a row (fine-tuning legs): a step 1 after later steps "
                         "starts the next leg, numbered on from the previous leg's last step")
    a = ap.parse_args()
    rows = {}
    offset, last = 0, 0
    with (sys.stdin if a.log == "-" else open(a.log)) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if "step" not in r or "G_GAN" not in r:
                continue
            if a.concat and r["step"] == 1 and last > 1:
                offset += last
            last = r["step"]
            r["step"] += offset
            rows[r["step"]] = r  # a resumed run may log a step twice: keep the last
    bins = {}
    for step in sorted(rows):
        bins.setdefault((step - 1) // a.bin, []).append(rows[step])
    keys = KEYS[:-1] + [k for k in OPTIONAL if any(k in r for r in rows.values())] + KEYS[-1:]
    out = sys.stdout
    out.write("step_end,steps," + ",".join(keys) + ",lr_G,lr_D\n")
    for b in sorted(bins):
        rs = bins[b]
        means = [sum(r.get(k, 0.0) for r in rs) / len(rs) for k in keys]
        last = rs[-1]
        out.write("%d,%d,%s,%.3g,%.3g\n" % (last["step"], len(rs), ",".join("%.4f" % m for m in means), last["lr_G"], last["lr_D"]))


if __name__ == "__main__":
    main()
