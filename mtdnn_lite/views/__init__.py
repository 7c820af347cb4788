"""What only the notebooks use: tables, figures and widgets, by notebook. Imports any layer below."""
