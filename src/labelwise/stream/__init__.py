"""Stream-based active learning under a label budget: which production messages enter
the review queue.

- :mod:`~labelwise.stream.impact`: the expected impact of labeling a message,
  uncertainty x traffic frequency x novelty (pure, vectorised).
- :mod:`~labelwise.stream.budget`: :class:`BudgetManager`, an adaptive admission
  threshold over a stream so that admissions per period (a day, a week) meet a budget;
  its state is plain data (:class:`BudgetState`) that the service stores between batches.

The service (``service.stream_budget``) and the simulation
(``simulation.production.stream``) call the same functions.
"""

from labelwise.stream.budget import PERIODS, BudgetManager, BudgetState
from labelwise.stream.impact import frequency_weight, impact, max_cosine, novelty

__all__ = [
    "PERIODS",
    "BudgetManager",
    "BudgetState",
    "frequency_weight",
    "impact",
    "max_cosine",
    "novelty",
]
