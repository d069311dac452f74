"""psgm's Python side: independent reference implementations of the spec and
helpers for psgm's files, used by the test suite and for analysis.

Modules (each imports only what it needs, so importing the package is free):

* ``psgm.reference_pde``: numpy implementation of the porous-electrode model
  (spec model.md), independent of the C++ kernels.
* ``psgm.dataset``: reading psgm data set files with h5py, and their content hash.
* ``psgm.network``: the reference score network in PyTorch.
* ``psgm.convert``: PyTorch state_dicts <-> psgm model files (also a command-line tool).
"""
