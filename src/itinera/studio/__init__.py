"""The studio's checks: what a segment matches now, a template's test email, and a draft
journey tried before it is published (its scenarios, and a backtest over recorded history).

``segment_preview`` counts and samples the accounts a condition matches (set-wise SQL);
``test_email`` sends a template to one address, marked as a test, rate-limited and recorded;
``scenarios`` keeps scenario files in the workspace; ``runs`` runs a draft's scenarios and
backtest in a child process with a time limit.
"""

__all__: list[str] = []  # the modules are imported by name (itinera.studio.runs, ...)
