"""roles/keepalived/files/halb-keepalived-split-brain, the script keepalived
runs each time its MASTER hears a MASTER of lower priority: run for real by
/bin/sh, with only the clock (date) and the journal (logger) replaced.

A run of reports counts as a split brain once it has lasted 1 s (a
pre-emption's hand-over makes one or two such adverts); it is recorded in
STATE_DIR/split-brain and warned about at most every 10 s."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(ROOT, "roles", "keepalived", "files", "halb-keepalived-split-brain")
T0_MS = 1764410000000


@pytest.fixture
def node(tmp_path):
    """A node's state directory, and report(at_s) that runs the script at T0 + at_s."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    (bin_dir / "date").write_text('#!/bin/sh\ncat "$FAKE_NOW"\n')
    (bin_dir / "logger").write_text('#!/bin/sh\necho "$*" >>"$FAKE_JOURNAL"\n')
    for tool in ("date", "logger"):
        (bin_dir / tool).chmod(0o755)
    env = dict(
        os.environ,
        PATH="%s:/usr/bin:/bin" % bin_dir,
        FAKE_NOW=str(tmp_path / "now"),
        FAKE_JOURNAL=str(tmp_path / "journal"),
    )

    def report(at_s):
        (tmp_path / "now").write_text("%d\n" % (T0_MS + round(at_s * 1000)))
        subprocess.run(["/bin/sh", SCRIPT, "halb_vip", "172.29.10.100", str(state)], env=env, check=True)

    report.state = state
    report.journal = tmp_path / "journal"
    return report


def recorded(node):
    path = node.state / "split-brain"
    return path.read_text().strip() if path.exists() else None


def warnings(node):
    return node.journal.read_text().splitlines() if node.journal.exists() else []


def test_a_pre_emptions_one_or_two_adverts_are_no_split_brain(node):
    node(0.0)
    node(0.1)
    assert (recorded(node), warnings(node)) == (None, [])


def test_reports_that_go_on_for_a_second_are_recorded_and_warned_about_once_per_10_s(node):
    for tenth in range(0, 11):
        node(tenth / 10)
    assert recorded(node) == "1764410001.000"
    (warning,) = warnings(node)
    assert warning.startswith(
        "-t halb-split-brain -p daemon.warning VRRP split brain on VIP 172.29.10.100 (instance halb_vip) for 1 s:"
    )
    for tenth in range(11, 111):
        node(tenth / 10)
    assert recorded(node) == "1764410011.000"
    assert len(warnings(node)) == 2 and " for 11 s: " in warnings(node)[1]


def test_a_pause_of_over_3_s_starts_a_new_run(node):
    node(0.0)
    node(0.9)
    node(4.0)  # 3.1 s after the last report: a new run, not 4 s of split brain
    assert recorded(node) is None
    node(5.0)
    assert recorded(node) == "1764410005.000"


def test_a_torn_state_file_starts_a_new_run_instead_of_failing(node):
    (node.state / "split-brain-run").write_text("17644")
    (node.state / "split-brain-logged").write_text("garbage")
    node(0.0)
    node(1.0)
    assert recorded(node) == "1764410001.000" and len(warnings(node)) == 1
