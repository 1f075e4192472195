// Tests for the Alerting target land here.
