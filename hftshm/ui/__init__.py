"""The operator interface: snapshots of a running instance, and the dashboard that draws them."""
