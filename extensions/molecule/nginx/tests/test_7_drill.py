"""The failover drill and load report playbooks, run as a user would."""

from common_drill import *  # noqa: F403 (the shared tests run in this scenario)
from common_load_report import *  # noqa: F403 (the load report shares the drill's load engine)
