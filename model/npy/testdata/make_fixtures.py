#!/usr/bin/env python3
"""Writes the small .npy files that npy_test.go reads.

Run from this directory with NumPy installed: python3 make_fixtures.py
The values are simple (arange based) so the Go test can spell them out.
"""
import numpy as np
from numpy.lib import format as npf

def save(name, a, version=None):
    with open(name, "wb") as f:
        npf.write_array(f, a, version=version, allow_pickle=False)

v = np.arange(6) - 2  # -2..3
save("f4.npy", (v / 2).astype("<f4").reshape(2, 3))
save("f8.npy", (v / 4).astype("<f8").reshape(3, 2))
save("f2.npy", (v / 8).astype("<f2"))
save("f4_be.npy", (v / 2).astype(">f4").reshape(2, 3))
save("i8.npy", (v * 1000000000000).astype("<i8"))
save("i4.npy", v.astype("<i4").reshape(1, 6))
save("i2.npy", v.astype("<i2"))
save("i1.npy", v.astype("|i1"))
save("u1.npy", (v + 253).astype("|u1"))
save("b1.npy", np.array([True, False, True]))
save("scalar_f4.npy", np.array(1.5, dtype="<f4"))
save("empty_f4.npy", np.zeros((0, 3), dtype="<f4"))
save("v2_f4.npy", (v / 2).astype("<f4").reshape(2, 3), version=(2, 0))
save("v3_f4.npy", (v / 2).astype("<f4").reshape(2, 3), version=(3, 0))
save("fortran_f4.npy", np.asfortranarray((v / 2).astype("<f4").reshape(2, 3)))
save("structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
