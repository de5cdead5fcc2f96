"""Every role documents exactly the variables it has: the keys of
defaults/main.yml and of meta/argument_specs.yml (entry point main) match,
and so do the defaults themselves."""

import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(os.listdir(os.path.join(ROOT, "roles")))


def load(role, *path):
    with open(os.path.join(ROOT, "roles", role, *path)) as handle:
        return yaml.safe_load(handle) or {}


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_match(role):
    defaults = load(role, "defaults", "main.yml")
    options = load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert name.startswith(role + "_"), f"{name}: role variables carry the role's name"
        assert spec.get("description"), f"{name}: no description"
        if not spec.get("required"):
            assert spec.get("default") == defaults[name], f"{name}: default differs from defaults/main.yml"
