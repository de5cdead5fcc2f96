"""Load checks shared by every engine."""

from common_load import *  # noqa: F403 (the shared tests run in this scenario)
