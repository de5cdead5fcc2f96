"""Run an Ansible module's main() in-process, the way Ansible would."""

import io
import json
import sys

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


def run_module(module, args, check_mode=False, diff=False):
    payload = dict(
        args,
        _ansible_check_mode=check_mode,
        _ansible_diff=diff,
        _ansible_remote_tmp="/tmp",
        _ansible_keep_remote_files=False,
    )
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": payload}))
    basic._ANSIBLE_PROFILE = "legacy"
    out, stdout = io.StringIO(), sys.stdout
    sys.stdout = out
    try:
        module.main()
    except SystemExit:
        pass
    finally:
        sys.stdout = stdout
        basic._ANSIBLE_ARGS = None
    return json.loads(out.getvalue())
