#!/usr/bin/env python3
"""Writes the tiny .pth fixtures that pth_test.go loads, with the values
PyTorch itself loads from each as an .npz next to it.

Run from this directory with PyTorch installed:

    /usr/bin/python3 make_fixtures.py

Each <name>.pth gets a <name>.npz holding one .npy per flattened key, in
the order Load must return them: floats as float32, integers and bools as
int64, the same conversion the Go loader makes. The expected values come
from torch.load, not from the tensors that were saved, so the fixtures also
check that PyTorch reads the files the way the Go code must.

CI has no PyTorch: the outputs are committed, and the Go tests read only
them.
"""
import argparse
import collections
import io
import pickle
import sys

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)


def expected(obj, prefix=""):
    """Flattens obj the way pth.Load does: a top-level "state_dict" entry
    wins; nested dicts join keys with "."; non-tensors are skipped."""
    if prefix == "" and isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    out = collections.OrderedDict()
    for k, v in obj.items():
        key = prefix + str(k)
        if isinstance(v, torch.Tensor):
            a = v.detach().numpy() if v.dtype != torch.bfloat16 else v.float().numpy()
            if a.dtype.kind == "f":
                a = a.astype(np.float32)
            else:
                a = a.astype(np.int64)
            out[key] = np.array(a, order="C")  # keeps 0-d arrays 0-d
        elif isinstance(v, dict):
            out.update(expected(v, key + "."))
    return out


def save(name, obj, legacy=False, protocol=2):
    path = name + ".pth"
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy, pickle_protocol=protocol)
    write_expected(name, torch.load(path))


def write_expected(name, loaded):
    arrays = expected(loaded)
    # savez appends ".npy" to each key; keys keep their insertion order.
    np.savez(name + ".npz", **arrays)


def views():
    """Tensors whose layout is not a plain contiguous block."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 4
    d = collections.OrderedDict()
    d["base"] = base
    d["transposed"] = base.t()                 # strides (1, 6)
    d["slice"] = base[1:3, 2:5]                 # offset 8, strides (6, 1)
    d["column"] = base[:, 3]                    # offset 3, stride 6
    d["every_other"] = base[::2, ::3]           # strides (12, 3)
    d["expanded"] = torch.tensor([1.5, -2.0]).expand(3, 2)  # stride (0, 1)
    d["scalar_view"] = base[2, 5]               # 0-d view at offset 17
    d["empty"] = torch.zeros(0, 3)
    return d


def dtypes():
    d = collections.OrderedDict()
    d["f32"] = torch.tensor([[0.5, -1.25, 3.0]])
    d["f64"] = torch.tensor([1.0 / 3, -2.5e-8, 1e30], dtype=torch.float64)
    d["f16"] = torch.tensor([0.5, -65504.0, 6e-8, float("inf")], dtype=torch.float16)
    d["bf16"] = torch.tensor([1.0, -3.5, 1e38], dtype=torch.bfloat16)
    d["i64"] = torch.tensor([-(2**62), 0, 2**62 + 1], dtype=torch.int64)
    d["i32"] = torch.tensor([-(2**31), 7], dtype=torch.int32)
    d["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    d["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    d["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    d["bool"] = torch.tensor([True, False, True])
    d["num_batches_tracked"] = torch.tensor(7)  # int64 scalar
    d["f16_transposed"] = torch.arange(6, dtype=torch.float16).reshape(2, 3).t()
    return d


def batchnorm_state():
    bn = nn.BatchNorm2d(3)
    bn.train()
    bn(torch.randn(2, 3, 4, 4))  # moves the running stats, counts a batch
    return bn.state_dict()  # an OrderedDict with _metadata


def spectral_conv_state():
    conv = nn.utils.spectral_norm(nn.Conv2d(2, 3, 3))
    conv(torch.randn(1, 2, 5, 5))  # one power iteration updates u and v
    return conv.state_dict()  # bias, weight_orig, weight_u, weight_v


def shared():
    """Two tensors on one storage, and one tensor object under two keys."""
    flat = torch.arange(10, dtype=torch.float32)
    tied = torch.tensor([9.0, 8.0])
    d = collections.OrderedDict()
    d["first"] = flat[:4].view(2, 2)
    d["second"] = flat[4:10].view(3, 2)
    d["tied.a"] = tied
    d["tied.b"] = tied
    d["param"] = nn.Parameter(torch.tensor([0.25, 0.75]))
    return d


def checkpoint():
    model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    return {
        "epoch": 3,
        "name": "spade",
        "hparams": argparse.Namespace(lr=2e-4, beta1=0.0),
        "losses": [1.5, 0.5],
        "best": np.float64(0.5),  # a numpy scalar: numpy.core.multiarray.scalar
        "blob": b"\x00\x01",  # bytes: an unhashable value in Go
        "state_dict": model.state_dict(),
        "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]},
    }


def nested():
    return {
        "netG": collections.OrderedDict(w=torch.ones(2), sub={"b": torch.zeros(1, dtype=torch.int64)}),
        "netD": {"w": torch.full((1,), 2.0)},
        "step": 10,
    }


class _StorageView:
    """Stands for a storage view when pickled by legacy_with_view."""

    def __init__(self, pid):
        self.pid = pid


class _Rebuild:
    def __init__(self, view, offset, size, stride):
        self.args = (view, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


def legacy_with_view(path):
    """A legacy file using the storage-view metadata of PyTorch < 0.4,
    which torch.save no longer writes but torch.load still reads."""
    data = np.arange(8, dtype="<f4") * 10

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _StorageView):
                return obj.pid
            return None

    whole = ("storage", torch.FloatStorage, "root", "cpu", 8, None)
    view = ("storage", torch.FloatStorage, "root", "cpu", 8, ("v1", 2, 4))
    obj = collections.OrderedDict()
    obj["whole"] = _Rebuild(_StorageView(whole), 1, (2, 2), (1, 2))
    obj["view"] = _Rebuild(_StorageView(view), 1, (3,), (1,))
    with open(path, "wb") as f:
        for x in (0x1950A86A20F9469CFC6C, 1001,
                  dict(protocol_version=1001, little_endian=True,
                       type_sizes=dict(short=2, int=4, long=4))):
            pickle.dump(x, f, protocol=2)
        P(f, protocol=2).dump(obj)
        pickle.dump(["root"], f, protocol=2)
        f.write(np.int64(8).tobytes())
        f.write(data.tobytes())


def main():
    for legacy in (False, True):
        sfx = "_legacy" if legacy else ""
        save("views" + sfx, views(), legacy)
        save("dtypes" + sfx, dtypes(), legacy)
        save("batchnorm" + sfx, batchnorm_state(), legacy)
        save("spectral" + sfx, spectral_conv_state(), legacy)
        save("shared" + sfx, shared(), legacy)
        save("checkpoint" + sfx, checkpoint(), legacy)
    save("nested", nested())
    save("views_proto4", views(), protocol=4)
    save("dtypes_legacy_proto4", dtypes(), legacy=True, protocol=4)
    legacy_with_view("legacy_view.pth")
    write_expected("legacy_view", torch.load("legacy_view.pth"))
    # Files that hold no state dict; the Go tests expect clear errors.
    torch.save([torch.ones(1)], "list.pth")
    torch.save(torch.ones(2), "bare_tensor.pth")
    torch.save({"epoch": 1, "name": "x"}, "no_tensors.pth")
    torch.save(nn.Linear(1, 1), "whole_module.pth")


if __name__ == "__main__":
    main()
