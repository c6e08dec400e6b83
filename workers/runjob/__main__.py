"""``python -m workers.runjob`` (what ``make run`` runs): see :mod:`workers.runjob`."""

import sys

from workers.runjob import main

sys.exit(main())
