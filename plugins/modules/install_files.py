#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: install_files
short_description: Install several small files and their directories in one step
version_added: 0.1.0
author: halb.loadbalancer contributors (!UNKNOWN)
description:
  - Creates the directories, then writes each file whose content, owner, group or mode differs from the one given,
    atomically (a temporary file in the same directory, renamed over the old one).
  - One module run for all of them, where M(ansible.builtin.copy) and M(ansible.builtin.template) cost two per file
    (a stat, then the file's attributes) - the roles of this collection install their helpers and systemd drop-ins
    with it, so a run with nothing to change takes fewer round trips to each host.
  - The content comes from the task, usually from the P(ansible.builtin.file#lookup) lookup (with C(rstrip=false))
    or the P(ansible.builtin.template#lookup) lookup. Text only, up to 1 MB a file.
  - A directory is created with its parents' existing attributes untouched; it is never removed.
  - Returns which paths changed, so a task can notify a handler for them.
  - Supports check mode and diff mode.
options:
  directories:
    description:
      - Absolute paths of directories to create (with O(directory_mode), O(owner), O(group)) before any file is written.
    type: list
    elements: path
    default: []
  files:
    description:
      - The files to install, each as its absolute path and its whole content (text).
      - Each file's directory must exist or be one of O(directories).
    type: dict
    required: true
  mode:
    description: Permissions of every file, as an octal string.
    type: str
    default: "0644"
  directory_mode:
    description: Permissions of every directory in O(directories), as an octal string.
    type: str
    default: "0755"
  owner:
    description: Owner of every directory and file.
    type: str
    default: root
  group:
    description: Group of every directory and file.
    type: str
    default: root
"""

EXAMPLES = r"""
- name: Install a helper and a systemd drop-in
  halb.loadbalancer.install_files:
    directories: [/etc/systemd/system/haproxy.service.d]
    files:
      /usr/local/sbin/halb-reload-engine: "{{ lookup('ansible.builtin.file', 'halb-reload-engine', rstrip=false) }}"
      /etc/systemd/system/haproxy.service.d/halb.conf: "{{ lookup('ansible.builtin.template', 'engine.conf.j2') }}"
  notify: Reload systemd units
"""

RETURN = r"""
changed_paths:
  description: The directories and files created or changed (in check mode, those that would be).
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/haproxy.service.d/halb.conf]
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

MAX_BYTES = 1024 * 1024


def _attributes(module, path, mode, kind):
    """Owner, group and mode as the module's own helpers take them."""
    return {"path": path, "owner": module.params["owner"], "group": module.params["group"], "mode": mode,
            "attributes": None, "secontext": [None, None, None], "state": kind}  # fmt: skip


def _current(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _write(module, dest, data):
    directory = os.path.dirname(dest)
    handle, temp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(dest))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        module.atomic_move(temp, dest)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _check(module):
    """Every path absolute, every content text within bounds, every file's
    directory there or listed: a bad entry fails the task before anything
    is written."""
    listed = set()
    for path in module.params["directories"]:
        if not os.path.isabs(path):
            module.fail_json(msg="directories: %s is not an absolute path" % path)
        listed.add(os.path.normpath(path))
    for dest, content in module.params["files"].items():
        if not os.path.isabs(dest):
            module.fail_json(msg="files: %s is not an absolute path" % dest)
        if not isinstance(content, str):
            module.fail_json(msg="files: %s: the content must be text, not %s" % (dest, type(content).__name__))
        size = len(to_bytes(content, errors="surrogate_or_strict"))
        if size > MAX_BYTES:
            module.fail_json(msg="files: %s: %d bytes is more than this module writes (1 MB)" % (dest, size))
        directory = os.path.dirname(os.path.normpath(dest))
        if not os.path.isdir(directory) and directory not in listed:
            module.fail_json(
                msg="files: %s: the directory %s does not exist; list it in directories" % (dest, directory)
            )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="path", default=[]),
            files=dict(type="dict", required=True),
            mode=dict(type="str", default="0644"),
            directory_mode=dict(type="str", default="0755"),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
        ),
        supports_check_mode=True,
    )
    _check(module)
    changed_paths, diffs = [], []
    for path in module.params["directories"]:
        created = not os.path.isdir(path)
        if created and not module.check_mode:
            os.mkdir(path)
        changed = created
        if os.path.isdir(path):
            wanted = _attributes(module, path, module.params["directory_mode"], "directory")
            changed = module.set_fs_attributes_if_different(wanted, created)
        if changed:
            changed_paths.append(path)
            diffs.append({"before_header": path, "after_header": path,
                          "before": "" if created else "(attributes)\n", "after": "(directory)\n"})  # fmt: skip
    for dest, content in module.params["files"].items():
        data = to_bytes(content, errors="surrogate_or_strict")
        before = _current(dest)
        changed = before != data
        if changed and not module.check_mode:
            _write(module, dest, data)
        if os.path.exists(dest):
            changed = module.set_fs_attributes_if_different(
                _attributes(module, dest, module.params["mode"], "file"), changed
            )
        if changed:
            changed_paths.append(dest)
            if before != data:
                diffs.append({"before_header": dest, "after_header": dest,
                              "before": to_text(before or b""), "after": to_text(data)})  # fmt: skip
    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths, diff=diffs)


if __name__ == "__main__":
    main()
