"""plasticore.engines: the distributed engines behind the in-process references.

The algorithms live in :mod:`plasticore.refmodel` (pure NumPy, validated in process); the modules here run them
on the engines users scale out with: Flower for federated learning (:mod:`plasticore.engines.flower_engine`) and Dask
``distributed`` for parallel fitness evaluation (:mod:`plasticore.engines.dask_executor`). Importing this package
imports no engine; each module imports its engine when used and raises
:class:`plasticore.refmodel.errors.MissingDependencyError` naming the extra (``pip install plasticore[distributed]``)
when it is absent.
"""
