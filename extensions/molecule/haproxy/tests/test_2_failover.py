"""The failover steps shared by every engine."""

from common_failover import *  # noqa: F403 (the shared tests run in this scenario)
