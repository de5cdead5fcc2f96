"""Deploy checks shared by every engine."""

from common_deploy import *  # noqa: F403 (the shared tests run in this scenario)
