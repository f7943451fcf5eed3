"""What a run found and what it leaves behind: results, the summary, JUnit and JSON, the HTML page and the
live progress line."""
