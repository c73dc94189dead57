"""Estimators with the scikit-learn interface: the LightGBM lead model, baselines, calibration,
propensity weights for selective labels, explanations and the exploration draw.

They know nothing of where data comes from: they take feature matrices (DataFrames whose columns
are catalogue features) and labels.
"""

from models.baselines import AnomalyScorer, LogisticBaseline, RandomScorer, RuleScorer
from models.calibration import CalibratedLeadModel
from models.lgbm import LeadClassifier

__all__ = ["AnomalyScorer", "CalibratedLeadModel", "LeadClassifier", "LogisticBaseline", "RandomScorer", "RuleScorer"]
