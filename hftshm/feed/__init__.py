"""Market-data ingestion, the pure part: venue frames in, ``layouts.md`` records out."""
