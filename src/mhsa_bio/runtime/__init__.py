"""Where commands run: torch device and seeding, torchrun process groups, heap allocations."""
