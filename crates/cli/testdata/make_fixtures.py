"""Writes the dataset fixtures the `bench run` reader tests use, with numpy
and h5py (independent writers of each format).

Run with any Python that has numpy and h5py (the files are committed; this
script documents how they were made):

    python make_fixtures.py

`tiny-euclidean.hdf5` is contiguous; `tiny-angular.hdf5` is chunked with gzip
and shuffle, as h5py writes when asked to compress. Both use h5py's default
libver (HDF5-2.0 "latest"-format files are out of scope).
"""

import h5py
import numpy as np

rng = np.random.default_rng(7)


def write(path, distance, chunked):
    train = rng.standard_normal((60, 8)).astype(np.float32)
    test = rng.standard_normal((5, 8)).astype(np.float32)
    if distance == "angular":
        a = train / np.linalg.norm(train, axis=1, keepdims=True)
        b = test / np.linalg.norm(test, axis=1, keepdims=True)
        d = 1.0 - b @ a.T
    else:
        d = np.sqrt(((test[:, None, :] - train[None, :, :]) ** 2).sum(-1))
    order = np.argsort(d, axis=1, kind="stable")[:, :10]
    dist = np.take_along_axis(d, order, axis=1).astype(np.float32)
    kw = dict(chunks=True, compression="gzip", shuffle=True) if chunked else {}
    with h5py.File(path, "w") as f:
        f.attrs["distance"] = distance
        f.attrs["point_type"] = "float"
        f.create_dataset("train", data=train, **kw)
        f.create_dataset("test", data=test, **kw)
        f.create_dataset("neighbors", data=order.astype(np.int32), **kw)
        f.create_dataset("distances", data=dist, **kw)


write("tiny-euclidean.hdf5", "euclidean", chunked=False)
write("tiny-angular.hdf5", "angular", chunked=True)


# The same euclidean data as .npy (base, queries as f4, ground truth as i8)
# and as texmex .fvecs / .ivecs / .bvecs.
with h5py.File("tiny-euclidean.hdf5", "r") as f:
    train, test, neighbors = f["train"][:], f["test"][:], f["neighbors"][:]
np.save("tiny-base.npy", train)
np.save("tiny-queries.npy", test)
np.save("tiny-gt.npy", neighbors.astype(np.int64))


def vecs(path, a, dtype):
    with open(path, "wb") as out:
        for row in a:
            out.write(np.int32(len(row)).tobytes())
            out.write(row.astype(dtype).tobytes())


vecs("tiny-base.fvecs", train, "<f4")
vecs("tiny-queries.fvecs", test, "<f4")
vecs("tiny-gt.ivecs", neighbors, "<i4")
vecs("tiny-base.bvecs", np.arange(4 * 3).reshape(4, 3) * 20, "u1")
