//! Real servers on 127.0.0.1 for the tests: an HTTP file server and git.
