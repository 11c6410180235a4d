"""The daemon: wiring of the event loop, the manager and the executor."""
