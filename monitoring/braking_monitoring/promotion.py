"""Champion/challenger: promote a challenger only when it is better where it matters now.

`promotion_rule` is the pure decision, tested from a table; `compare_models` measures its
inputs on the latest labelled window (held out of the challenger's training): a paired
bootstrap of RMSE(challenger) - RMSE(champion), whose one-sided 95 % upper bound must be
below 0, and both under-braking rates, of which the challenger's may not be higher.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from braking_model.accuracy import accuracy

BOOTSTRAP_RESAMPLES = 2_000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class PromotionEvidence:
    """What the decision rests on, recorded on the challenger's registry version."""

    gate_passed: bool
    rows: int
    champion_rmse: float
    challenger_rmse: float
    rmse_diff: float
    rmse_diff_upper: float  # one-sided CONFIDENCE upper bound of challenger - champion
    champion_under_braking: float
    challenger_under_braking: float


@dataclass(frozen=True)
class PromotionDecision:
    """Promote or keep, the reasons, and the evidence."""

    promote: bool
    reasons: list[str] = field(default_factory=list)
    evidence: PromotionEvidence | None = None

    def properties(self) -> dict[str, str | float | bool]:
        """Flat registry custom properties: `promotion.*`."""
        flat: dict[str, str | float | bool] = {
            "promotion.decision": "promote" if self.promote else "keep",
            "promotion.reasons": "; ".join(self.reasons),
        }
        if self.evidence is not None:
            flat.update({f"promotion.{k}": v for k, v in asdict(self.evidence).items()})
        return flat


def promotion_rule(
    gate_passed: bool,
    rmse_diff_upper: float,
    challenger_under_braking: float,
    champion_under_braking: float,
) -> tuple[bool, list[str]]:
    """(promote?, reasons). All three must hold: the gate passed, the upper bound of the RMSE
    difference is below 0, and the challenger under-brakes no more often than the champion."""
    reasons = []
    if not gate_passed:
        reasons.append("challenger failed the validation gate")
    if not rmse_diff_upper < 0.0:  # also refuses NaN
        reasons.append(
            f"RMSE not clearly lower: upper {CONFIDENCE:.0%} bound of challenger - champion "
            f"is {rmse_diff_upper:+.5f} (must be < 0)"
        )
    if not challenger_under_braking <= champion_under_braking:
        reasons.append(
            f"under-braking rate higher: {challenger_under_braking:.4f} > "
            f"{champion_under_braking:.4f}"
        )
    return not reasons, reasons or ["challenger is better on the latest labelled window"]


def paired_bootstrap_rmse_diff(
    labels: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """(observed RMSE difference challenger - champion, its one-sided upper bound).

    Both models are scored on the same resampled rows, so their shared difficulty cancels."""
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    se_champion = (np.asarray(champion, dtype=np.float64).reshape(-1) - y) ** 2
    se_challenger = (np.asarray(challenger, dtype=np.float64).reshape(-1) - y) ** 2
    observed = float(np.sqrt(se_challenger.mean()) - np.sqrt(se_champion.mean()))
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(len(y), 1))  # bound memory: ~16 MB of indices at once
    for start in range(0, resamples, chunk):
        rows = rng.integers(0, len(y), (min(chunk, resamples - start), len(y)))
        diffs[start : start + len(rows)] = np.sqrt(se_challenger[rows].mean(axis=1)) - np.sqrt(
            se_champion[rows].mean(axis=1)
        )
    return observed, float(np.quantile(diffs, CONFIDENCE))


def compare_models(
    labels: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    gate_passed: bool,
    seed: int = 0,
) -> PromotionDecision:
    """Decide on the latest labelled window: `champion`/`challenger` are their predictions."""
    if len(labels) == 0:
        return PromotionDecision(False, ["no labelled rows to compare the models on"])
    observed, upper = paired_bootstrap_rmse_diff(labels, champion, challenger, seed=seed)
    ours, theirs = accuracy(labels, champion), accuracy(labels, challenger)
    promote, reasons = promotion_rule(
        gate_passed, upper, theirs["under_braking_rate"], ours["under_braking_rate"]
    )
    evidence = PromotionEvidence(
        gate_passed=gate_passed,
        rows=len(labels),
        champion_rmse=ours["rmse"],
        challenger_rmse=theirs["rmse"],
        rmse_diff=observed,
        rmse_diff_upper=upper,
        champion_under_braking=ours["under_braking_rate"],
        challenger_under_braking=theirs["under_braking_rate"],
    )
    return PromotionDecision(promote, reasons, evidence)
