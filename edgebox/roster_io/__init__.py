"""Reading and writing the roster in the forms village offices keep it."""
from edgebox.roster_io.csv_sheet import read_roster_csv, roster_to_csv_bytes, write_roster_csv

__all__ = ["read_roster_csv", "roster_to_csv_bytes", "write_roster_csv"]
