"""Writes a Keras-layout HDF5 weights file with h5py (Debian's python3-h5py), for the weight-loading tests.

usage: python3 kerasH5.py SPEC.json OUT.h5

SPEC.json: {"layout": "applications" | "model" | "keras3", "blob": "values.f32",
            "layers": [{"name": "Conv1", "weights": [{"name": "kernel", "shape": [3, 3, 3, 16]}, ...]}, ...]}
The blob holds every weight's float32 values, little-endian, in the order the spec lists them.

Layouts, as Keras writes them:
- applications: what keras.applications downloads and Keras 2's model.save_weights('x.h5') writes:
  root attributes layer_names / backend / keras_version, one group per layer (layers without weights too)
  with a weight_names attribute, each weight a dataset at <layer>/<layer>/<weight>:0.
- model: the same under /model_weights, as Keras 2's model.save('x.h5') writes it.
- keras3: Keras 3's model.save_weights('x.weights.h5'): layers/<layer>/vars/<i>.
"""
import json
import sys

import h5py
import numpy as np


def main(spec_path, out_path):
    with open(spec_path) as f:
        spec = json.load(f)
    values = np.fromfile(spec["blob"], dtype="<f4")
    at = 0
    layout = spec["layout"]
    with h5py.File(out_path, "w") as f:
        root = f.create_group("model_weights") if layout == "model" else f
        if layout == "model":
            f.attrs["model_config"] = np.bytes_(json.dumps({"class_name": "Functional"}))
        if layout == "keras3":
            layers = root.create_group("layers")
        else:
            root.attrs["layer_names"] = np.array([l["name"].encode("utf8") for l in spec["layers"]])
            root.attrs["backend"] = np.bytes_("tensorflow")
            root.attrs["keras_version"] = np.bytes_("2.13.1")
        for layer in spec["layers"]:
            name = layer["name"]
            if layout == "keras3":
                g = layers.create_group(name).create_group("vars")
            else:
                g = root.create_group(name)
                # Keras writes an empty (float64) array for a layer without weights.
                g.attrs["weight_names"] = np.array([f"{name}/{w['name']}:0".encode("utf8") for w in layer["weights"]]) if layer["weights"] else np.array([])
            for i, w in enumerate(layer["weights"]):
                n = int(np.prod(w["shape"])) if w["shape"] else 1
                data = values[at : at + n].reshape(w["shape"])
                at += n
                g.create_dataset(str(i) if layout == "keras3" else f"{name}/{w['name']}:0", data=data)
    if at != values.size:
        sys.exit(f"the blob has {values.size} values, the spec {at}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
