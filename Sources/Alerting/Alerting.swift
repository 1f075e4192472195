// Rule files, the alert state machine and rule unit tests land here (issue 4).
