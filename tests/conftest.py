"""Make `ansible_collections.halb.loadbalancer` importable from this checkout."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".state", "collections")
link = os.path.join(COLLECTIONS, "ansible_collections", "halb", "loadbalancer")
if not os.path.exists(link):
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(ROOT, link)
sys.path.insert(0, COLLECTIONS)
