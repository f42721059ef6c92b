// Command clawcensus counts OpenClaw gateways reachable on a network: it sweeps targets for
// open ports, fingerprints what answers, stores every observation and reports counts.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/census"
	"github.com/clawcensus/clawcensus/internal/cmdline"
	"github.com/clawcensus/clawcensus/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes: scripts depend on them (exitExposed: check found a gateway that answers).
const exitOK, exitRuntime, exitUsage, exitExposed = 0, 1, 2, 3

// errExposed ends a check that found a gateway: exit 3, nothing more to print.
var errExposed = errors.New("exposed")

// usageError marks a mistake of the caller: a bad flag, target or database at start.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A closed stdout (clawcensus scan … | head) becomes a write error the scan handles,
	// storing what it saw and marking the run, instead of a silent death by SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	os.Exit(run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, cmdline.FlagsAnywhere(app.Commands, args))
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errExposed) {
		return exitExposed
	}
	fmt.Fprintln(stderr, "clawcensus:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitRuntime
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:      "clawcensus",
		Usage:     "count OpenClaw AI-agent gateways reachable on a network, by version and auth posture",
		Version:   version,
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are printed once, by run, with the exit code it chooses.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   asUsageError,
		// An unknown command is a usage mistake: exit 2 with the commands to choose from.
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("unknown command %q (clawcensus --help lists them)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{checkCommand(), scanCommand(), planCommand(), workerCommand(), resumeCommand(),
			reanalyzeCommand(), reportCommand(), exportCommand(), trendCommand(), serveCommand(), migrateCommand(),
			fingerprintsCommand(), contactsCommand()},
		HideHelpCommand: true,
	}
}

func asUsageError(_ *cli.Context, err error, _ bool) error { return usageError{err} }

// command sets what every subcommand shares: a usage mistake exits 2.
func command(c *cli.Command) *cli.Command {
	c.OnUsageError = asUsageError
	return c
}

// openCensus opens --db for running censuses. A store that cannot be reached at start is the
// caller's mistake.
func openCensus(c *cli.Context) (*census.Census, error) {
	cen, err := census.Open(c.Context, c.String("db"))
	if err != nil {
		return nil, usageError{err}
	}
	return cen, nil
}

// hint is a command to paste that reaches this process's store and knowledge base.
func hint(c *cli.Context, words ...string) string { return cmdline.Hint(c, store.Redact, words...) }

// openReadOnly opens --db for reading: it creates and migrates nothing, and a store of an older
// schema says the command that migrates it.
func openReadOnly(c *cli.Context) (store.Store, error) {
	st, err := store.OpenReadOnly(c.Context, c.String("db"))
	switch {
	case errors.Is(err, store.ErrOlderSchema):
		return nil, usagef("%w: run %s first", err, hint(c, "migrate"))
	case err != nil:
		return nil, usageError{err}
	}
	return st, nil
}

// openRuns opens --db for reading and lists its runs, oldest first. The caller closes the store.
func openRuns(c *cli.Context) (store.Store, []store.Summary, error) {
	st, err := openReadOnly(c)
	if err != nil {
		return nil, nil, err
	}
	sums, err := st.Summaries(c.Context)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, sums, nil
}
