"""``python -m lite``: build the JupyterLite site."""

import sys

from lite.build import main

sys.exit(main())
