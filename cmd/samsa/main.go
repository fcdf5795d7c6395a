// Command samsa is the Samsa broker and its command-line tools in one
// binary: `samsa serve` runs a broker; the other subcommands speak the Kafka
// protocol to any broker (Samsa or Apache Kafka).
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "samsa:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "samsa",
		Short:         "An event streaming broker that speaks Kafka's protocol",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd())
	for _, add := range extraCommands {
		root.AddCommand(add())
	}
	return root
}

// extraCommands are the client subcommands; each file that defines one
// appends its constructor in an init function, so adding a tool touches
// only its own file.
var extraCommands []func() *cobra.Command
