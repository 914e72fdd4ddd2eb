import sys

from binopose.cli import main

sys.exit(main())
