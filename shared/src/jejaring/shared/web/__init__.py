"""HTTP plumbing: bilingual error bodies, health and readiness, bearer tokens, serving."""
