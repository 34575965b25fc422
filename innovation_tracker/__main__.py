import sys

from innovation_tracker.cli import main

sys.exit(main())
