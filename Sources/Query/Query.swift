// The PromQL-subset engine (lexer, parser, evaluator over TimeSeries) lands here (issue 3).
