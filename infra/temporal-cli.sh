#!/usr/bin/env bash
# Ensures the Temporal CLI (its dev server) is available as <repo>/.tools/bin/temporal.
# v1.5.1: the newest tag whose go.mod has no `replace` directive (go install refuses those).
exec bash "$(dirname "$0")/go-tool.sh" temporal github.com/temporalio/cli/cmd/temporal v1.5.1
