"""Who may do what: the policy file, approvals and edits, their Redis store, the audit trail."""
