"""The failover drill playbook, run as a user would."""

from common_drill import *  # noqa: F403 (the shared tests run in this scenario)
