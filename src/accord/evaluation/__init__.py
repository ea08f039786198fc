"""Evaluation against gold labels: metrics, redundancy curves (score as labels per item are capped) and the
bench that runs every method on every dataset."""

from .bench import run_bench
from .metrics import accuracy, expected_calibration_error, log_loss, macro_f1
from .redundancy import redundancy_curve

__all__ = ["accuracy", "expected_calibration_error", "log_loss", "macro_f1", "redundancy_curve", "run_bench"]
