package cli

import (
	"fmt"
	"io"

	"hangar/internal/core"
)

// printf writes to w like fmt.Fprintf, with every string, error and Stringer argument passed
// through core.Printable. Names, emails, messages and audit targets come from tenants: printed
// raw, one could recolour or rewrite the operator's terminal, or add a forged row to a table
// with a newline or tab. All of the CLI's text output goes through here (a lint rule holds the
// rest of the package to it); -o json needs nothing, JSON escapes control characters.
func printf(w io.Writer, format string, args ...any) {
	safe := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			safe[i] = core.Printable(v)
		case error:
			safe[i] = core.Printable(v.Error())
		case fmt.Stringer:
			safe[i] = core.Printable(v.String())
		default:
			safe[i] = a
		}
	}
	fmt.Fprintf(w, format, safe...) //nolint:forbidigo // the one place the CLI prints
}
