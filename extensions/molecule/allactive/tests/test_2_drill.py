"""The failover drill on one VIP of an active-active group, as a user runs
it (halb.loadbalancer.failover_drill with failover_drill_vip): the fault
hits that VIP's MASTER, the VIP goes to the next node, and comes back."""

import glob
import json
import os

from common_drill import DRILL_OUTAGE_LIMIT_MS


def test_the_drill_acts_on_the_chosen_vip(aa, tmp_path):
    aa.wait_holders(aa.home(), timeout=60)
    vip, master, backup = aa.vips[2], aa.lbs[2], aa.lbs[0]
    out = aa.playbook(
        "halb.loadbalancer.failover_drill",
        "failover_drill_vip=%s" % vip,
        "failover_drill_fault=engine_kill",
        "failover_drill_seconds=16",
        "failover_drill_report_dir=%s" % tmp_path,
        "failover_drill_max_outage_ms=%d" % DRILL_OUTAGE_LIMIT_MS,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    (path,) = [p for p in glob.glob(os.path.join(tmp_path, "drill-*.json")) if not p.endswith("-records.json")]
    with open(path) as handle:
        report = json.load(handle)
    failed, restored = report["events"]
    print("\n[drill] " + json.dumps({"fault": failed, "restore": restored}, indent=1))
    # Its MASTER was hit, the next node took it alone, and it came back.
    assert failed["vip_before"] == [master]
    assert [backup] in [holders for _, holders in report["vip"]["timeline"]]
    assert restored["vip_after"] == [master]
    assert failed["outage_ms"] <= DRILL_OUTAGE_LIMIT_MS
    aa.wait_holders(aa.home(), timeout=60)
