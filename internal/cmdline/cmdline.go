// Package cmdline handles command lines as people type and paste them: flags given after the
// targets (as zmap, nmap and nuclei take them), and commands printed for a person to paste,
// quoted for a POSIX shell, that reach the same store and knowledge base (--db, --data,
// --fingerprints). It reads the commands and flags of the caller's urfave/cli app; it runs
// nothing.
package cmdline

import "strings"

// Reorder moves the flags of one command's arguments ahead of its other arguments, keeping
// each group's order, so that a parser that stops reading flags at the first argument (Go's
// flag package, urfave/cli) reads flags given after the targets. takesValue says whether a
// flag, named without its dashes, reads the next word as its value ("--name=value" carries its
// own). "--" ends the flags: it is kept, ahead of every argument, and what follows it stays an
// argument. A lone "-" is an argument (stdin).
func Reorder(args []string, takesValue func(name string) bool) []string {
	var flags, rest []string
	ended := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			ended = true
			rest = append(rest, args[i+1:]...)
			i = len(args)
		case len(a) < 2 || a[0] != '-':
			rest = append(rest, a)
		default:
			flags = append(flags, a)
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !hasValue && takesValue(name) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	if ended {
		flags = append(flags, "--")
	}
	return append(flags, rest...)
}

// Quote returns s as one word of a POSIX shell: unchanged when it holds only characters no
// shell reads specially, else in single quotes (a single quote inside ends the quoting, is
// escaped with a backslash, and quoting starts again).
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,+@%=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join returns words as one command line, each quoted (Quote).
func Join(words ...string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = Quote(w)
	}
	return strings.Join(quoted, " ")
}
