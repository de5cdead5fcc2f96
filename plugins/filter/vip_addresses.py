# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VIPs one node serves: keepalived_vip, or every address of
keepalived_vips (active-active). The lb role's status and site.yml's VIP
check read it, so neither writes the rule out again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def vip_addresses(vip, vips=None):
    if vip:
        return [vip]
    addresses = []
    for i, entry in enumerate(vips or []):
        if not isinstance(entry, Mapping) or not entry.get("address"):
            raise AnsibleFilterError(
                "vip_addresses: keepalived_vips[%d] has no address; give each entry one, e.g. address: 192.0.2.100" % i
            )
        addresses.append(entry["address"])
    return addresses


class FilterModule(object):
    def filters(self):
        return {"vip_addresses": vip_addresses}
