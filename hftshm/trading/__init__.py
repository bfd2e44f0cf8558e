"""Trading: strategies, the execution client and the order state machine."""
