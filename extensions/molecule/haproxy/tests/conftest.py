import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from failover_lib import scenario  # noqa: F401 (the fixture every test file uses)
