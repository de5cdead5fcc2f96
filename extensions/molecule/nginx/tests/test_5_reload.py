"""Reload checks shared by every engine."""

from common_reload import *  # noqa: F403 (the shared tests run in this scenario)
