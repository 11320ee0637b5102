"""The one place that talks to Slack: messages, transports, the durable outbox and its sender."""
