"""The formats of import and export files, and the file names that say which."""

FORMATS = ("csv", "ndjson")
SUFFIXES = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}
