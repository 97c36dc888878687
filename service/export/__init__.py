"""CSV export of a tab, for spreadsheets."""
