"""Deploy checks shared by every engine (the status playbook among them)."""

from common_deploy import *  # noqa: F403 (the shared tests run in this scenario)
from common_metrics import *  # noqa: F403 (metrics and JSON logs on the fresh deploy)
from common_status import *  # noqa: F403 (the status playbook on the fresh deploy)
