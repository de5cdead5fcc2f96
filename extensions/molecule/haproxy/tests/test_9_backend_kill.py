"""A backend killed under load: GETs retried elsewhere, POSTs never resent."""

from common_backend_kill import *  # noqa: F403 (the shared tests run in this scenario)
