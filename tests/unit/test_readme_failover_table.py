"""The README's failover figures are the committed result files' figures."""

import importlib.util
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load():
    spec = importlib.util.spec_from_file_location("failover_table", os.path.join(ROOT, "scripts", "failover_table.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_failover_table_is_current():
    problem = load().check()
    assert problem is None, problem


def test_table_has_a_row_per_committed_figure():
    table = load().render()
    results = os.listdir(os.path.join(ROOT, "docs", "results"))
    for name in (name for name in results if name.startswith("molecule-")):
        scenario = name[len("molecule-") : -len("-failover.json")]
        with open(os.path.join(ROOT, "docs", "results", name)) as handle:
            steps = json.load(handle)["steps"]
        # The four failover steps, plus one row per load result it holds.
        load_rows = len({"saturating load", "reloads under load"} & set(steps))
        assert table.count("Molecule `%s`" % scenario) == 4 + load_rows, table
