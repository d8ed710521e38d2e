#!/usr/bin/env bash
# Ensures versitygw, the S3-compatible server the test run starts (POSIX backend), is available
# as <repo>/.tools/bin/versitygw.
exec bash "$(dirname "$0")/go-tool.sh" versitygw github.com/versity/versitygw/cmd/versitygw v1.8.0
