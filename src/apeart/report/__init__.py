"""The report: its words, its figures, loss plots and the self-contained HTML page."""
