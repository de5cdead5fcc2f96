"""A role's templates rendered by Ansible's own templar, as the template
module renders them (trim_blocks on, lstrip_blocks off, trailing newline
kept), with the role's defaults and vars/main.yml read at test time and the
collection's own filters available by FQCN."""

import os

from ansible.parsing.dataloader import DataLoader
from ansible.template import AnsibleEnvironment, Templar

from ansible_collections.halb.loadbalancer.plugins.filter import bgp_anycast, preflight

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FILTERS = {
    "halb.loadbalancer." + name: function
    for module in (preflight, bgp_anycast)
    for name, function in module.FilterModule().filters().items()
}


def role_vars(role, overrides, hostname, facts):
    """Variables as a play sees them: role defaults < inventory < role vars."""
    loader = DataLoader()
    path = os.path.join(ROOT, "roles", role)
    variables = {}
    variables.update(loader.load_from_file(os.path.join(path, "defaults", "main.yml")) or {})
    variables.update(overrides)
    variables.update(loader.load_from_file(os.path.join(path, "vars", "main.yml")) or {})
    variables.update(
        {
            "inventory_hostname": hostname,
            "ansible_facts": facts,
            "role_path": path,
            "ansible_managed": "Ansible managed",
        }
    )
    return loader, variables


def render(role, template, overrides, hostname, facts):
    loader, variables = role_vars(role, overrides, hostname, facts)
    with open(template, encoding="utf-8") as handle:
        source = handle.read()
    templar = Templar(loader=loader, variables=variables).copy_with_new_env(
        environment_class=AnsibleEnvironment,
        searchpath=[os.path.dirname(template)],
        newline_sequence="\n",
        available_variables=variables,
    )
    templar.environment.filters.update(FILTERS)
    return templar.do_template(
        source,
        preserve_trailing_newlines=True,
        escape_backslashes=False,
        overrides={"trim_blocks": True, "lstrip_blocks": False},
    )


def check_golden(text, golden):
    """text must equal the golden file; HALB_UPDATE_GOLDEN=1 rewrites it."""
    if os.environ.get("HALB_UPDATE_GOLDEN"):
        os.makedirs(os.path.dirname(golden), exist_ok=True)
        with open(golden, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(golden, encoding="utf-8") as handle:
        assert text == handle.read(), "render changed; review and rerun with HALB_UPDATE_GOLDEN=1"
