"""Dataset folders and the bundled example; the reading itself lives in :mod:`accord.io.datasets`.

>>> from accord.datasets import load_demo
>>> load_demo().annotations
Annotations(200 items, 10 annotators, 2 classes ['No Pneumonia', 'Pneumonia'], 2000 annotations)
"""

from __future__ import annotations

from .io.datasets import Dataset, load_dataset, load_demo, read_gold

__all__ = ["Dataset", "load_dataset", "load_demo", "read_gold"]
