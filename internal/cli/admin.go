package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"hangar/client"
)

// DefaultURL is the operator API address used when neither --url nor HANGAR_URL is set.
const DefaultURL = "http://127.0.0.1:3102"

// KeyFile is the name of the operator key file that `hangar serve` writes into its data
// directory.
const KeyFile = "operator.key"

// Globals is what main binds for every command (kong.Bind(&cli.Globals{…})). Nil fields take
// defaults: context.Background(), os.Stdin, os.Stdout, os.Stderr and an HTTP client with a
// timeout.
type Globals struct {
	Ctx        context.Context
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	HTTPClient *http.Client
}

// Admin is the `hangar admin` command: its flags are shared by every subcommand.
type Admin struct {
	URL    string `name:"url" env:"HANGAR_URL" default:"http://127.0.0.1:3102" placeholder:"URL" help:"Base URL of the Hangar server (default: ${default})."`
	APIKey string `name:"api-key" env:"HANGAR_API_KEY" placeholder:"KEY" help:"Operator API key (default: the contents of <data>/operator.key)."`
	Data   string `name:"data" env:"HANGAR_DATA" default:"./hangar-data" placeholder:"DIR" help:"Data directory of a local server, only used to find operator.key when no API key is given (default: ${default})."`
	Output string `name:"output" short:"o" env:"HANGAR_OUTPUT" enum:"text,json,csv" default:"text" help:"Output format: text, json (exactly one JSON document on stdout) or csv (usage only)."`

	Teams     TeamsCmd     `cmd:"" help:"List, create, show and update teams and their quotas."`
	Users     UsersCmd     `cmd:"" help:"List, create, disable and enable users, and set their passwords."`
	Keys      KeysCmd      `cmd:"" help:"List, create and revoke API keys and login tokens."`
	Templates TemplatesCmd `cmd:"" help:"List, create and delete machine templates."`
	Networks  NetworksCmd  `cmd:"" help:"List, create and delete private networks."`
	Hosts     HostsCmd     `cmd:"" help:"List, create, update and delete hosts and their capacity."`
	PublicIPs PublicIPsCmd `cmd:"" name:"public-ips" help:"List and release teams' reserved public IPs."`
	Sim       SimCmd       `cmd:"" help:"Control the simulated hypervisor."`
	Usage     UsageCmd     `cmd:"" help:"Report a month's machine usage per team and machine type."`
	Audit     AuditCmd     `cmd:"" help:"Show the audit log of state-changing calls, newest first."`
}

// session is what one command run needs: a context, a client and where to print.
type session struct {
	ctx    context.Context
	api    *client.Client
	out    io.Writer
	json   bool
	format string // text, json or csv
}

// session builds the client from a's flags and g, for a command without CSV output.
func (a *Admin) session(g *Globals) (*session, error) { return a.open(g, false) }

// open builds the client from a's flags and g; -o csv is refused before anything is sent
// unless the command prints CSV.
func (a *Admin) open(g *Globals, csvOK bool) (*session, error) {
	if a.Output == "csv" && !csvOK {
		return nil, errors.New("-o csv is only supported by `hangar admin usage`")
	}
	if g == nil {
		g = &Globals{}
	}
	key, err := a.apiKey()
	if err != nil {
		return nil, err
	}
	s := &session{ctx: g.Ctx, out: g.Stdout, json: a.Output == "json", format: a.Output}
	if s.ctx == nil {
		s.ctx = context.Background()
	}
	if s.out == nil {
		s.out = os.Stdout
	}
	hc := g.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	url := a.URL
	if url == "" {
		url = DefaultURL
	}
	checked := *hc
	checked.Transport = dialCheck{rt: hc.Transport, url: url}
	s.api = client.New(url, key, &checked)
	return s, nil
}

// NotReachableError says that no connection to the server could be made at all (refused,
// unknown host, no route): PrintError shows it without the request that hit it.
type NotReachableError struct {
	URL string
	Err error
}

func (e *NotReachableError) Error() string {
	return fmt.Sprintf("the server is not reachable at %s: is `hangar serve` running there? (%v)", e.URL, e.Err)
}

func (e *NotReachableError) Unwrap() error { return e.Err }

// dialCheck turns a failed connection into a NotReachableError naming the server's URL.
type dialCheck struct {
	rt  http.RoundTripper // nil: http.DefaultTransport
	url string
}

func (d dialCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	rt := d.rt
	if rt == nil {
		rt = http.DefaultTransport
	}
	res, err := rt.RoundTrip(r)
	var op *net.OpError
	if err != nil && errors.As(err, &op) && op.Op == "dial" {
		return nil, &NotReachableError{URL: d.url, Err: op}
	}
	return res, err
}

// apiKey returns --api-key / HANGAR_API_KEY, or else the contents of <data>/operator.key.
func (a *Admin) apiKey() (string, error) {
	if a.APIKey != "" {
		return a.APIKey, nil
	}
	data := a.Data
	if data == "" {
		data = "./hangar-data"
	}
	path := filepath.Join(data, KeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no API key: pass --api-key, set HANGAR_API_KEY, or point --data/HANGAR_DATA at the server's data directory (%s does not exist)", path)
	}
	if err != nil {
		return "", fmt.Errorf("read API key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("read API key: %s is empty", path)
	}
	return key, nil
}

// emit prints v as one JSON document with -o json, else calls text.
func (s *session) emit(v any, text func(w io.Writer)) error {
	if s.json {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(s.out)
	return nil
}

// table prints a header and rows through a tabwriter, with -o json printing v instead.
func (s *session) table(v any, header string, rows func(w io.Writer)) error {
	return s.emit(v, func(out io.Writer) {
		w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
		fmt.Fprintln(w, header) //nolint:forbidigo // a constant
		rows(w)
		_ = w.Flush()
	})
}

// deleted prints the result of a delete.
func (s *session) deleted(kind, id string) error {
	return s.emit(struct {
		Deleted string `json:"deleted"`
	}{id}, func(w io.Writer) { printf(w, "deleted %s %s\n", kind, id) })
}

// orDash returns *p, or "-" when p is nil or empty.
func orDash(p *string) string {
	if p == nil || *p == "" {
		return "-"
	}
	return *p
}

// PrintError prints err to w as "hangar: <message>"; API errors read
// "hangar: <message> (HTTP <status>)", a server that cannot be reached "hangar: the server is
// not reachable at URL: …". A nil err prints nothing.
func PrintError(w io.Writer, err error) {
	var nr *NotReachableError
	if errors.As(err, &nr) {
		err = nr
	}
	if err != nil {
		printf(w, "hangar: %v\n", err)
	}
}

// ExitCode returns the process exit status for err: 0 for nil, the error's own code when it
// has an ExitCode() int method (kong parse errors), else 1.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var coder interface{ ExitCode() int }
	if errors.As(err, &coder) {
		return coder.ExitCode()
	}
	return 1
}
