"""A stand-in for Airbus OneAtlas that speaks its contract: the catalogue search, quicklooks,
and the order contract with deliveries of small real DIMAP products."""

from simulators.oneatlas.catalogue import (
    SIMULATOR_PATH,
    SimulatorSettings,
    create_simulator,
    range_test,
)

__all__ = ["SIMULATOR_PATH", "SimulatorSettings", "create_simulator", "range_test"]
