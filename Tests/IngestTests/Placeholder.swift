// Tests for the Ingest target land here.
