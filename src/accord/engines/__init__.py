"""Engines that run accord's models outside one process's memory.

:mod:`accord.engines.dask` fits majority vote and the Dawid-Skene family on a Dask cluster, with the same
EM pieces as the in-memory models (``pip install 'accord[dask]'``). It is imported on use, so that importing
accord never imports Dask.
"""
