package network

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Every test here runs with released frames poisoned, so a request
	// body used after its release shows up as DE AD BE EF.
	PoisonReleasedFrames.Store(true)
	goleak.VerifyTestMain(m)
}
