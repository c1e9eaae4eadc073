"""``python -m mlcourse``: the same as the ``mlcourse`` command."""
import sys

from mlcourse.cli import main

sys.exit(main())
