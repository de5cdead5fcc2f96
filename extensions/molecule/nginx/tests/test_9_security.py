"""HTTPS (sslyze against Mozilla intermediate, rotation under load, bad
certificates refused), access rules and rate limits through the VIP, then
the routed shop (host and path rules, sticky carts, consistent hashing).
Runs last: it converges the scenario with its security and shop spec and
leaves it."""

from common_security import *  # noqa: F403 (the shared tests run in this scenario)
from common_shop import *  # noqa: F403 (after the security tests: they converge the shop too)
