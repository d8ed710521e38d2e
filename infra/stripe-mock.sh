#!/usr/bin/env bash
# Ensures stripe-mock, the Stripe API server the test run starts (billing tests), is available
# as <repo>/.tools/bin/stripe-mock.
exec bash "$(dirname "$0")/go-tool.sh" stripe-mock github.com/stripe/stripe-mock v0.203.0
