package main

import (
	"testing"

	"go.uber.org/goleak"
)

// The client commands start franz-go clients and a progress goroutine;
// every one must be gone when a command returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
