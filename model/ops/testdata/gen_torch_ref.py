# Generates torch_ref.json, the PyTorch reference values that ops_test.go
# checks against. CI has no torch: rerun by hand only when adding a case:
#   /usr/bin/python3 model/ops/testdata/gen_torch_ref.py
import json
import os

import numpy
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
cases = []


def flat(t):
    # The shortest decimal that reads back as the same float32 keeps the
    # file small; Go parses it straight into float32.
    return [float(str(numpy.float32(v))) for v in t.detach().reshape(-1).tolist()]


def case(name, op, inputs, params=None, extra=None):
    """Runs op on inputs (which require grad), and the gradient of
    sum(op(*inputs) * r) for a random r of the output's shape."""
    ins = [t.clone().requires_grad_(True) for t in inputs]
    y = op(*ins)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    c = {
        "name": name,
        "params": params or {},
        "inputs": [{"shape": list(t.shape), "data": flat(t)} for t in inputs],
        "out": {"shape": list(y.shape), "data": flat(y)},
        "r": flat(r),
        "grads": [flat(t.grad) for t in ins],
    }
    if extra:
        c.update(extra())
    cases.append(c)


x = torch.randn(2, 3, 5, 7) * 2 + 0.5
case("instance_norm", lambda x: F.instance_norm(x, eps=1e-5), [x], {"eps": 1e-5})

x = torch.randn(3, 4, 5, 6) * 1.5 - 0.3
bn = torch.nn.BatchNorm2d(4, affine=False, eps=1e-5, momentum=0.1)
bn.train()
case("batch_norm_train", bn, [x], {"eps": 1e-5},
     extra=lambda: {"running_mean": flat(bn.running_mean), "running_var": flat(bn.running_var)})

x = torch.randn(2, 3, 4, 5)
mean = torch.randn(3) * 0.2
var = torch.rand(3) + 0.5
case("batch_norm_eval",
     lambda x: F.batch_norm(x, mean, var, training=False, eps=1e-5), [x],
     {"eps": 1e-5, "mean": flat(mean), "var": flat(var)})

for f, shape in [(2, (1, 2, 3, 4)), (3, (2, 1, 2, 3))]:
    x = torch.randn(*shape)
    case("upsample_nearest", lambda x: F.interpolate(x, scale_factor=f, mode="nearest"), [x], {"factor": f})

for k, s, p, shape in [(3, 2, 1, (2, 2, 7, 9)), (3, 2, 1, (1, 1, 8, 8)), (2, 2, 0, (1, 2, 5, 6)),
                       (3, 1, 1, (1, 1, 4, 5)), (4, 3, 2, (1, 1, 9, 7))]:
    x = torch.randn(*shape)
    case("avg_pool", lambda x: F.avg_pool2d(x, k, stride=s, padding=p, count_include_pad=False),
         [x], {"kernel": k, "stride": s, "pad": p})

x = torch.randn(2, 3, 4, 5)
case("leaky_relu", lambda x: F.leaky_relu(x, 0.2), [x], {"alpha": 0.2})

x = torch.randn(2, 3, 4, 5)
b = torch.randn(3)
case("add_bias", lambda x, b: x + b.view(1, -1, 1, 1), [x, b])

x, g, b = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
case("modulate", lambda x, g, b: x * (1 + g) + b, [x, g, b])

resize = []
for h, w, oh, ow in [(5, 7, 3, 4), (7, 5, 12, 13), (13, 10, 7, 3), (3, 6, 10, 9), (4, 4, 8, 8),
                     (6, 9, 6, 9), (10, 11, 4, 5), (17, 19, 32, 24), (24, 22, 7, 9)]:
    x = torch.randn(1, 1, h, w)
    resize.append({
        "in": [1, 1, h, w], "out": [oh, ow], "data": flat(x),
        "nearest": flat(F.interpolate(x, size=(oh, ow), mode="nearest")),
        "bilinear": flat(F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False)),
    })

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "torch_ref.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases, "resize": resize}, f)
