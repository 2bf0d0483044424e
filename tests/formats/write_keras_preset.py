#!/usr/bin/python3
"""Rewrites a KerasHub preset folder's weights the way Keras 3 saves them, for loader tests.

    write_keras_preset.py SRC_PRESET OUT_DIR [--shard-bytes N] [--dtype float32|bfloat16|float16]
                          [--drop PATH] [--reshape PATH] [--extra PATH]

Copies config.json / metadata.json (and assets/) and writes the variables of SRC_PRESET/model.weights.h5:
  - as one model.weights.h5 (default), or
  - sharded (--shard-bytes N): model.weights.json {"metadata": {"total_size": bytes},
    "weight_map": {"/<object path>/vars": "model_00000.weights.h5", ...}} plus model_00000.weights.h5, ...
    as keras.src.saving.saving_lib.ShardedH5IOStore does: variables are written in order, a new shard is
    started when the next variable would pass N bytes, and an object whose variables end up in several
    shards lists all of them (newer Keras writes a list there; older Keras only the first).
  - --dtype bfloat16 stores 2-byte values with the attribute dtype="bfloat16" (Keras' H5IOStore), rounded
    to nearest even; float16 uses HDF5's native half floats.
  - --drop / --reshape / --extra damage one variable (leave it out, cut its last axis by one, or add an
    unknown one) so tests can check the loader's errors.
Needs numpy and h5py (Debian: python3-numpy, python3-h5py).
"""
import argparse
import json
import os
import shutil

import h5py
import numpy as np


def to_bfloat16_bits(values):
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def read_variables(path):
    """(group path, dataset name, array) for every variable, in file order."""
    found = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                group, _, key = name.rpartition("/")
                found.append((group, key, obj[()]))
        f.visititems(visit)
    return found


def store(group, key, value, dtype):
    value = np.asarray(value)
    if dtype == "bfloat16":
        ds = group.create_dataset(key, data=to_bfloat16_bits(value).view("V2"))
        ds.attrs["dtype"] = "bfloat16"
    elif dtype == "float16":
        group.create_dataset(key, data=value.astype(np.float16))
    else:
        group.create_dataset(key, data=value.astype(np.float32))
    return value.size * (4 if dtype == "float32" else 2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("src")
    parser.add_argument("out")
    parser.add_argument("--shard-bytes", type=int, default=0)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--drop")
    parser.add_argument("--reshape")
    parser.add_argument("--extra")
    args = parser.parse_args()

    os.makedirs(args.out, exist_ok=True)
    for name in ("config.json", "metadata.json"):
        if os.path.exists(os.path.join(args.src, name)):
            shutil.copy(os.path.join(args.src, name), os.path.join(args.out, name))
    if os.path.isdir(os.path.join(args.src, "assets")):
        shutil.copytree(os.path.join(args.src, "assets"), os.path.join(args.out, "assets"), dirs_exist_ok=True)

    variables = []
    for group, key, value in read_variables(os.path.join(args.src, "model.weights.h5")):
        path = group + "/" + key
        if path == args.drop:
            continue
        if path == args.reshape:
            value = np.asarray(value)[..., :-1]
        variables.append((group, key, value))
    if args.extra:
        group, _, key = args.extra.rpartition("/")
        variables.append((group, key, np.zeros((2,), np.float32)))

    if args.shard_bytes <= 0:
        with h5py.File(os.path.join(args.out, "model.weights.h5"), "w") as f:
            for group, key, value in variables:
                store(f.require_group(group), key, value, args.dtype)
        return

    weight_map = {}
    total = 0
    shard_index, shard_size = 0, 0
    shard_name = "model_%05d.weights.h5" % shard_index
    f = h5py.File(os.path.join(args.out, shard_name), "w")
    for group, key, value in variables:
        size = np.asarray(value).size * (4 if args.dtype == "float32" else 2)
        if shard_size > 0 and shard_size + size > args.shard_bytes:
            f.close()
            shard_index, shard_size = shard_index + 1, 0
            shard_name = "model_%05d.weights.h5" % shard_index
            f = h5py.File(os.path.join(args.out, shard_name), "w")
        shard_size += store(f.require_group(group), key, value, args.dtype)
        total += size
        entry = "/" + group
        if entry not in weight_map:
            weight_map[entry] = shard_name
        elif weight_map[entry] != shard_name and not isinstance(weight_map[entry], list):
            weight_map[entry] = [weight_map[entry], shard_name]
        elif isinstance(weight_map[entry], list) and shard_name not in weight_map[entry]:
            weight_map[entry].append(shard_name)
    f.close()
    with open(os.path.join(args.out, "model.weights.json"), "w") as out:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, out, indent=4)


if __name__ == "__main__":
    main()
