package cmdline

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// FlagsAnywhere reorders the arguments of the command args names (args[0] is the program) so
// that flags may follow its targets, as in zmap and nmap: urfave/cli stops reading a command's
// flags at its first argument ("scan 127.0.0.10/31 --dry-run" read --dry-run as a target).
// Subcommands are followed; app-level flags before the command are left alone.
func FlagsAnywhere(cmds []*cli.Command, args []string) []string {
	for i := 1; i < len(args); i++ {
		k := slices.IndexFunc(cmds, func(c *cli.Command) bool { return c.HasName(args[i]) })
		if k < 0 {
			return args
		}
		cmd := cmds[k]
		if i+1 < len(args) && slices.ContainsFunc(cmd.Subcommands, func(c *cli.Command) bool { return c.HasName(args[i+1]) }) {
			cmds = cmd.Subcommands
			continue
		}
		return append(slices.Clip(args[:i+1]), Reorder(args[i+1:], func(name string) bool {
			f := flagNamed(cmd.Flags, name)
			v, ok := f.(cli.DocGenerationFlag)
			return ok && v.TakesValue()
		})...)
	}
	return args
}

func flagNamed(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// carried are the flags that say where things are: a command printed for pasting keeps them.
var carried = []string{"db", "data", "fingerprints"}

// Hint is a clawcensus command for a person to paste, words quoted for a POSIX shell (Join): it
// carries --db, --data and --fingerprints as this process was given them when the command
// takes them, unless they are empty or the environment gives them already (a pasted command
// inherits it). A value that names an existing file or directory is made absolute, so the
// command works from elsewhere too; hide elides a secret in a value (store.Redact: a password
// in a database URL is not printed, the one thing a person must put back).
func Hint(c *cli.Context, hide func(string) string, words ...string) string {
	cmds := c.App.Commands
	var cmd *cli.Command
	for _, w := range words {
		k := slices.IndexFunc(cmds, func(c *cli.Command) bool { return c.HasName(w) })
		if k < 0 {
			break
		}
		cmd, cmds = cmds[k], cmds[k].Subcommands
	}
	line := append([]string{c.App.Name}, words...)
	for _, name := range carried {
		var f *cli.StringFlag
		if cmd != nil {
			f, _ = flagNamed(cmd.Flags, name).(*cli.StringFlag)
		}
		value := c.String(name)
		if f == nil || !c.IsSet(name) || value == "" || slices.ContainsFunc(f.EnvVars, func(env string) bool {
			v, set := os.LookupEnv(env)
			return set && v == value
		}) {
			continue
		}
		if _, err := os.Stat(value); err == nil && !strings.Contains(value, "://") {
			if abs, err := filepath.Abs(value); err == nil {
				value = abs
			}
		}
		line = append(line, "--"+name, hide(value))
	}
	return Join(line...)
}
