"""The approvals service: approval policies, approver directory, chains, tasks, delegation and escalation."""
