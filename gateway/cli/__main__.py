"""``python -m gateway.cli ...``, as the demo, scenarios and tests start workers."""

from gateway.cli.main import main

main()
