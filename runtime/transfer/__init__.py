"""Data in and out through the service's rules: import (CSV, JSON lines), streaming export."""
