// The notification pipeline lands here (issue 7).
