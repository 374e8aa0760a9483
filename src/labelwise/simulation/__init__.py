"""Simulation: replay active learning against ground truth and measure labels saved."""

from labelwise.simulation.oracle import SimulatedOracle
from labelwise.simulation.report import plot_learning_curves, write_report
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

__all__ = [
    "Arm",
    "CurvePoint",
    "SimulatedOracle",
    "SimulationConfig",
    "SimulationResult",
    "StopEvent",
    "StoppingSummary",
    "StrategySummary",
    "plot_learning_curves",
    "run_simulation",
    "seed_set",
    "write_report",
]
