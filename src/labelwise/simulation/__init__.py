"""Simulation: replay active learning against ground truth and measure labels saved
(classification in ``runner``, entity extraction in ``sequences``)."""

from labelwise.simulation.oracle import SimulatedOracle
from labelwise.simulation.report import (
    plot_learning_curves,
    plot_sequence_curves,
    write_report,
)
from labelwise.simulation.runner import (
    Arm,
    CurvePoint,
    SimulationConfig,
    SimulationResult,
    StopEvent,
    StoppingSummary,
    StrategySummary,
    run_simulation,
    seed_set,
)
from labelwise.simulation.sequences import (
    EditCounts,
    PreannotationResult,
    SequencePoint,
    SequenceSimulationConfig,
    SequenceSimulationResult,
    SequenceStrategySummary,
    preannotation_edits,
    random_checkpoints,
    read_tagged_sentences,
    run_preannotation,
    run_sequence_simulation,
    sentence_edits,
    tagged_sentences,
)

__all__ = [
    "Arm",
    "CurvePoint",
    "EditCounts",
    "PreannotationResult",
    "SequencePoint",
    "SequenceSimulationConfig",
    "SequenceSimulationResult",
    "SequenceStrategySummary",
    "SimulatedOracle",
    "SimulationConfig",
    "SimulationResult",
    "StopEvent",
    "StoppingSummary",
    "StrategySummary",
    "plot_learning_curves",
    "plot_sequence_curves",
    "preannotation_edits",
    "random_checkpoints",
    "read_tagged_sentences",
    "run_preannotation",
    "run_sequence_simulation",
    "run_simulation",
    "seed_set",
    "sentence_edits",
    "tagged_sentences",
    "write_report",
]
