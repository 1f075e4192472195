// Tests for the Query target land here.
