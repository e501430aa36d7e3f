"""Small pure helpers of the mentoring domain (no database, no Flask)."""
