"""Shared math below the models and the results: votes and tie rules, confusion estimation and smoothing,
log-space helpers, the sparse annotation matrix and the one EM driver. Private: import from the modules."""
