"""Pure code (innovation_tracker.domain and .formats): data in, data out, no database."""
