import sys

from neuralinv.cli import main

sys.exit(main())
