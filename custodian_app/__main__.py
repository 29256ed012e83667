import sys

from custodian_app.cli.main import main

sys.exit(main())
