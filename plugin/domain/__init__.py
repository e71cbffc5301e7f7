"""The pure core: money, pricing, quote signing and settings rules. Standard library only."""
