"""The rolling upgrade playbook, run as a user would, under load."""

from common_rolling import *  # noqa: F403 (the shared tests run in this scenario)
