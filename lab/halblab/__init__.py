"""Helpers shared by the lab demo, the Molecule verifiers and the benchmarks."""
