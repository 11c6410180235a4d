"""pidone: a Linux init system and service manager that runs real systemd unit files."""

__version__ = "0.1.0"
