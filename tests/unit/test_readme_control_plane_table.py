"""The README's control-plane table is what scripts/control_plane_table.py
makes of the committed benchmark result, and its verdict names every
missed target."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import control_plane_table  # noqa: E402


def _inventory(rerun_s, changed=0):
    reruns = [{"seconds": rerun_s, "changed": changed}]
    return {"cold": {"seconds": 90.0}, "reruns": reruns, "rerun_median_s": rerun_s, "rerun_max_changed": changed}


def test_readme_table_is_current():
    assert control_plane_table.check() is None


def test_the_verdict_names_each_miss():
    result = {"inventories": {"lab": _inventory(19.0), "lab-wide": _inventory(31.5, changed=2)}}
    text = control_plane_table.verdict("after", result)
    assert "2 of 4 met" in text
    assert "lab-wide re-run 31.5 s (target 30 s)" in text
    assert "lab-wide re-run changed 2 tasks (target 0)" in text
    result["inventories"]["lab-wide"] = _inventory(30.0)
    assert "4 of 4 met." in control_plane_table.verdict("after", result)
