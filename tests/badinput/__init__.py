"""The bad-input suite (issue 10): every case is a real file, process, signal or file system, and each one checks
the same promise: one line on stderr, the documented exit code, no traceback, nothing destroyed. The fixtures
`bad(code, *args)` (the CLI in-process: an exception that is not an EdgeperfError escapes and fails the test) and
`bad_proc(code, *args)` (a fresh process: signals, hangs, closed streams, orphaned children) are in
tests/conftest.py."""
