"""The long-running service: scheduler, systemd notification, status socket, logging."""
