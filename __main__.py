"""Entry point for `pulumi preview` / `pulumi up`: load the stack config, build the organization."""

from blueprint.program import main

main()
