"""Backends killed, removed and added under load: nothing a client sees fails but a POST in flight."""

from common_backends import *  # noqa: F403 (the shared tests run in this scenario)
