"""`python -m tapgate.audit` runs the auditor until the main CLI wires `tapgate audit`."""

import sys

from tapgate.audit.cli import main

sys.exit(main())
