package handler

import "log/slog"

// Deps are the broker subsystems a Handler serves requests with. The server
// package builds them and owns their lifecycle; the Handler only uses them.
type Deps struct {
	// Logger receives the handler's logs; nil means slog.Default.
	Logger *slog.Logger
}
