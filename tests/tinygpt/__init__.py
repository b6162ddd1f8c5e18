"""tinygpt's tests: a folder per package (sandbox, tasks, data, train, eval, bench, serve, cli), a file per module."""
