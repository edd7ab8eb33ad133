import sys

from wganbench.cli import main

sys.exit(main())
