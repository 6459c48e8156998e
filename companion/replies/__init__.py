"""Documented replies: asks, checklists, evidence, drafts, reminders, related cases, dossiers."""
