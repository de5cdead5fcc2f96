"""HTTPS (sslyze against Mozilla intermediate, rotation under load, bad
certificates refused), access rules and rate limits through the VIP. Runs
last: it converges the scenario with its security spec and leaves it."""

from common_security import *  # noqa: F403 (the shared tests run in this scenario)
