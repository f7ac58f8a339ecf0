"""``evaluate`` modules shipped with textrobust, loadable offline by path."""

from pathlib import Path

ROBUSTNESS_SCORE = str(Path(__file__).with_name("robustness_score"))


def robustness_score_path() -> str:
    """The directory to pass to ``evaluate.load`` for the robustness score module."""
    return ROBUSTNESS_SCORE
