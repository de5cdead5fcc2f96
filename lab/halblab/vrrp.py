"""What keepalived's log says about VRRP state changes, for the Molecule
load tests and the lab's kill drills alike."""

from __future__ import annotations


def state_changes(log: str) -> list[str]:
    """keepalived's "(instance) Entering <STATE> STATE" lines of a log."""
    return [line.strip() for line in log.splitlines() if "Entering" in line and "STATE" in line]


def vip_moves(transitions: dict[str, list[str]], master: str) -> int:
    """State changes that move the VIP: another node becoming MASTER, or the
    MASTER leaving that state. A BACKUP flapping to FAULT and back (a track
    check timing out on a saturated box) moves nothing, and is reported."""
    moves = 0
    for name, lines in transitions.items():
        for line in lines:
            if (name != master and "MASTER STATE" in line) or (name == master and "MASTER STATE" not in line):
                moves += 1
    return moves
