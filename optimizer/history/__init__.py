"""Loading histories: wide, long and geo-panel CSVs, and holiday calendars."""
