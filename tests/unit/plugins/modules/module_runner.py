"""Run an Ansible module's main() in-process, the way Ansible would."""

import contextlib
import io
import json
from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.common.text.converters import to_bytes


def run_main(module, args, check_mode=False, diff=False):
    """Return (exit code, result dict) of module.main() with args as its options.

    args may also set Ansible's internal `_ansible_*` options; those win over
    check_mode and diff.
    """
    payload = dict(
        {
            "_ansible_check_mode": check_mode,
            "_ansible_diff": diff,
            "_ansible_remote_tmp": "/tmp",
            "_ansible_keep_remote_files": False,
        },
        **args,
    )
    out = io.StringIO()
    # Patched, not assigned: every global is restored after the run. Warnings
    # and deprecations pile up in module-level lists, so each run starts with
    # empty ones and cannot see, or leave, another test's warnings.
    # _ANSIBLE_PROFILE only exists from ansible-core 2.19 on, hence create=True.
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            mock.patch.multiple(
                basic,
                create=True,
                _ANSIBLE_ARGS=to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": payload})),
                _ANSIBLE_PROFILE="legacy",
            )
        )
        stack.enter_context(mock.patch.multiple(ansible_warnings, _global_warnings=[], _global_deprecations=[]))
        stack.enter_context(contextlib.redirect_stdout(out))
        code = None
        try:
            module.main()
        except SystemExit as exit_info:
            code = exit_info.code
        else:
            # exit_json() and fail_json() always exit: a return means no result was sent.
            raise AssertionError("%s.main() returned without exit_json() or fail_json()" % module.__name__)
    return code, json.loads(out.getvalue())


def run_module(module, args, check_mode=False, diff=False):
    """Return the result dict of module.main() with args as its options."""
    return run_main(module, args, check_mode=check_mode, diff=diff)[1]
