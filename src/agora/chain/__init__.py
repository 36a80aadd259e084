"""The chain service: the shop's contracts and their deployments, networks and tokens, deposit
addresses, the block watcher (confirmations, reorgs), reconciliation and token rewards."""
