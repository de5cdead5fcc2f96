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
    module = load()
    table = module.render()
    # Every step the script turns into a row of its own: the under-load ones and the drills.
    row_steps = {key for key, _template, _fields in module.LOAD_ROWS} | {"failover drill", "partition drill"}
    results = os.listdir(os.path.join(ROOT, "docs", "results"))
    for name in (name for name in results if name.startswith("molecule-") and name.endswith("-failover.json")):
        scenario = name[len("molecule-") : -len("-failover.json")]
        with open(os.path.join(ROOT, "docs", "results", name)) as handle:
            result = json.load(handle)
        steps, engine = result["steps"], result["platform"]["engine"]
        # A row per failover step (active-passive or active-active) and per load or drill result it holds.
        step_keys = {key.format(engine=engine) for key, _what in module.STEPS + module.ACTIVE_STEPS}
        step_keys |= {key for key, _what in module.ANYCAST_FAULTS} | {"anycast spread"}
        expected = len(step_keys & set(steps))
        assert table.count("Molecule `%s`" % scenario) == expected + len(row_steps & set(steps)), table


def test_every_drill_plot_the_table_shows_is_committed():
    table = load().render()
    for line in table.splitlines():
        if line.startswith("!["):
            path = line[line.index("(") + 1 : -1]
            assert os.path.isfile(os.path.join(ROOT, path)), line
