"""Stand-in for the pip bootstrap script ansible-test downloads.

ansible-test fetches get-pip.py from a host that is not reachable here.
This script does the same job from what is: the interpreter's bundled pip
(ensurepip) installs pip into the new virtualenv, which then installs the
exact packages ansible-test asked for from PyPI.
"""

import ensurepip
import os
import subprocess
import sys

# ensurepip blanks the PIP_* settings of this process; the real install
# must see them (index, certificates) again.
environ = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args], env=environ))
