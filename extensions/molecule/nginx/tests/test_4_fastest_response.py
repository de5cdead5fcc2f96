"""The response-time feedback loop, shared by every engine."""

from common_fastest import *  # noqa: F403 (the shared tests run in this scenario)
