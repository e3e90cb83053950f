"""The case state machine, its policy, and the audit listener."""
