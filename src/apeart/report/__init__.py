"""The report: loss plots and the self-contained HTML page."""
