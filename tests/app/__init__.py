"""The use cases (innovation_tracker.app) and the command line, on real databases."""
