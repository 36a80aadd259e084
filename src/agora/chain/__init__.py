"""The chain service: the shop's contracts, their deployments, and (later) the block watcher."""
