"""Drop-in surfaces of other crowdsourcing libraries, computed by accord's models.

- :mod:`accord.compat.crowdkit`: crowd-kit's aggregation classes (``MajorityVote``, ``Wawa``,
  ``ZeroBasedSkill``, ``DawidSkene``, ``OneCoinDawidSkene``, ``GLAD``, ``MACE``, ``MMSR``, ``KOS``) with its
  parameters, methods and fitted attributes, on a DataFrame with columns ``task``, ``worker``, ``label``.
- :mod:`accord.compat.cleanlab`: the functions of ``cleanlab.multiannotator``
  (``get_label_quality_multiannotator``, ``get_majority_vote_label``, ``get_active_learning_scores``, ...) on
  its wide items x annotators matrix.

Switching is a one-line import change, e.g. ``from accord.compat.crowdkit import DawidSkene`` instead of
``from crowdkit.aggregation import DawidSkene``. Neither library needs to be installed.
"""

from __future__ import annotations

__all__ = ["cleanlab", "crowdkit"]
