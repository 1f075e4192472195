// Tests for the Notify target land here.
