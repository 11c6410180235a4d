"""`python -m pidone` runs the CLI."""

from pidone.cli.main import main

raise SystemExit(main())
