"""Fixtures shared by the module_utils and modules tests."""

import pytest

from ansible_collections.halb.loadbalancer.tests.unit.plugins.loopback import Loopback


@pytest.fixture
def loopback():
    """Loopback servers for one test, all stopped at its end."""
    servers = Loopback()
    yield servers
    servers.close()
