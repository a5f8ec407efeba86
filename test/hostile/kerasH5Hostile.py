"""Writes a hostile Keras-layout HDF5 weights file with h5py, for test/hostile/weights.test.ts.

usage: python3 kerasH5Hostile.py KIND OUT.h5 LAYER SHAPE_JSON

Every file is in keras.applications' layout with one layer, LAYER, whose single weight is
LAYER/kernel:0; KIND says how it lies:
- huge: the weight is declared as 2^30 float32 (4 GB), chunked and compressed, never written:
  the file is a few kilobytes.
- external-link: LAYER is an external link to /etc/passwd.
- external-storage: the weight's bytes live in /dev/zero (HDF5 external storage), SHAPE_JSON's shape.
- float16: the weight is float16 of the right shape.
"""
import json
import sys

import h5py
import numpy as np


def main(kind, out, layer, shape):
    with h5py.File(out, "w") as f:
        f.attrs["layer_names"] = np.array([layer.encode("utf8")])
        f.attrs["backend"] = np.bytes_("tensorflow")
        f.attrs["keras_version"] = np.bytes_("2.13.1")
        if kind == "external-link":
            f[layer] = h5py.ExternalLink("/etc/passwd", "/" + layer)
            return
        g = f.create_group(layer)
        g.attrs["weight_names"] = np.array([f"{layer}/kernel:0".encode("utf8")])
        name = f"{layer}/kernel:0"
        if kind == "huge":
            g.create_dataset(name, shape=(1 << 30,), dtype="<f4", chunks=(1 << 16,), compression="gzip")
        elif kind == "external-storage":
            n = int(np.prod(shape)) * 4
            g.create_dataset(name, shape=tuple(shape), dtype="<f4", external=[("/dev/zero", 0, n)])
        elif kind == "float16":
            g.create_dataset(name, data=np.ones(shape, dtype="<f2"))
        else:
            sys.exit(f"unknown kind {kind}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
