import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from failover_lib import Scenario


@pytest.fixture(scope="session")
def scenario():
    sc = Scenario()
    yield sc
    sc.write_results(os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
