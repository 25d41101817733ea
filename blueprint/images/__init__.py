"""The golden-AMI factory's naming rules and documents (components, workflows, key policy)."""
