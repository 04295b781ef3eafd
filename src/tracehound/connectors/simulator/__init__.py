"""A deterministic simulated online shop (12 services) with fault injection, implementing the ports."""

from tracehound.connectors.simulator.sources import FaultSpec, SimulatorConfig, build_simulator_sources
from tracehound.connectors.simulator.topology import EDGES, NAMES

__all__ = ["EDGES", "NAMES", "FaultSpec", "SimulatorConfig", "build_simulator_sources"]
