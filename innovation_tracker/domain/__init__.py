"""The study's concepts and rules, and what is computed from them: pure functions, data in, data out.

Nothing here reads a database, a file the user gave, or a web page; everything above may use it."""
